//! Trying WebCall out: UserSigs from the development endpoint of a server that is not strict
//! (work in progress).
