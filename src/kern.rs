//! Where the files of KERN, the design system of the German administration, are served: under a
//! path naming their version (`assets/kern/VERSION`), so an update is never mixed with a cached
//! older stylesheet. Shared by the integration managers' pages and the client's consent pages.

/// The path prefix of KERN's files (and Staffel's own stylesheet beside them).
pub const ASSETS: &str = concat!("/assets/kern-", include_str!("../assets/kern/VERSION"));
