//! The one HTTP client idlegate makes for its own outbound calls (revocation hooks, the
//! identity provider's JWKS): HTTP/1.1, `https://` with rustls and the Mozilla root set (no
//! system trust store needed in a slim container), plain `http://` for a local service.

use http_body::Body;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A client for request bodies of type `B`.
pub(crate) fn client<B>() -> Client<HttpsConnector<HttpConnector>, B>
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}
