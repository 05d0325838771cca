//! What runs unattended or makes groups: the scheduler (`dhrotate daemon`),
//! the detached pool refill after a rotation, and `generate`, `check` and
//! `pool fill`.

pub(crate) mod daemon;
pub(crate) mod groups;
pub(crate) mod refill;
