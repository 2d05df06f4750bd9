//! `idlegate har`: analyse a HAR recording (SPEC §8, §10 HAR details).
