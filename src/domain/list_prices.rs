//! List prices (us-east-1, seed 000 §8.5 and public on-demand prices): what
//! the sandbox charges, and what AWS estimates fall back to when the Pricing
//! API or the spot history cannot be read.

/// An instance type the wizard offers, with the list prices the sandbox
/// charges and AWS estimates fall back to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceOffer {
    pub name: &'static str,
    pub vcpus: u32,
    pub memory_gib: f64,
    /// The accelerator, on GPU types.
    pub gpu: Option<&'static str>,
    pub on_demand: f64,
    /// A typical spot price.
    pub spot: f64,
}

const fn offer(
    name: &'static str,
    vcpus: u32,
    memory_gib: f64,
    on_demand: f64,
    spot: f64,
) -> InstanceOffer {
    InstanceOffer {
        name,
        vcpus,
        memory_gib,
        gpu: None,
        on_demand,
        spot,
    }
}

const fn gpu(
    name: &'static str,
    vcpus: u32,
    memory_gib: f64,
    card: &'static str,
    on_demand: f64,
    spot: f64,
) -> InstanceOffer {
    InstanceOffer {
        gpu: Some(card),
        ..offer(name, vcpus, memory_gib, on_demand, spot)
    }
}

const OFFERS: &[InstanceOffer] = &[
    offer("t3.micro", 2, 1.0, 0.0104, 0.0031),
    offer("t3.small", 2, 2.0, 0.0208, 0.0062),
    offer("t3.medium", 2, 4.0, 0.0416, 0.0125),
    offer("t3.large", 2, 8.0, 0.0832, 0.025),
    offer("t3.xlarge", 4, 16.0, 0.1664, 0.0499),
    offer("m5.large", 2, 8.0, 0.096, 0.0352),
    offer("m5.xlarge", 4, 16.0, 0.192, 0.0705),
    offer("c5.xlarge", 4, 8.0, 0.17, 0.0633),
    offer("r5.large", 2, 16.0, 0.126, 0.0388),
    gpu("g4dn.xlarge", 4, 16.0, "NVIDIA T4 16 GB", 0.526, 0.1578),
    gpu("g4dn.2xlarge", 8, 32.0, "NVIDIA T4 16 GB", 0.752, 0.2256),
    gpu("g5.xlarge", 4, 16.0, "NVIDIA A10G 24 GB", 1.006, 0.3824),
];

/// Memory Crawl4AI's browser needs on its own (seed 001 §3).
pub const CRAWL4AI_MEMORY_GIB: f64 = 2.0;

/// The types offered for a tier: GPU ones for gpu, CPU ones otherwise.
pub fn offers_for(tier: super::Tier) -> impl Iterator<Item = &'static InstanceOffer> {
    let want_gpu = tier == super::Tier::Gpu;
    OFFERS.iter().filter(move |o| o.gpu.is_some() == want_gpu)
}

/// G and VT types count against the G-instance vCPU quota (0 on new accounts).
pub fn is_g_family(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    family.starts_with('g') || family.starts_with("vt")
}

/// Types with an NVIDIA GPU (G but not the AMD g4ad, and P): they need the
/// Deep Learning GPU AMI's driver on any tier, not plain Amazon Linux.
pub fn has_nvidia_gpu(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    (family.starts_with('g') && family != "g4ad") || family.starts_with('p')
}

pub fn offer_of(instance_type: &str) -> Option<&'static InstanceOffer> {
    OFFERS.iter().find(|o| o.name == instance_type)
}

pub const EFS_GB_MONTH: f64 = 0.30;

/// On-demand and spot price per hour of a type the sandbox offers.
pub fn price_of(instance_type: &str) -> Option<(f64, f64)> {
    offer_of(instance_type).map(|o| (o.on_demand, o.spot))
}

pub fn offered_types() -> impl Iterator<Item = &'static str> {
    OFFERS.iter().map(|o| o.name)
}

#[cfg(test)]
mod gpu_tests {
    #[test]
    fn nvidia_types_are_g_and_p_but_not_amd() {
        for t in ["g4dn.xlarge", "g5.xlarge", "g6.xlarge", "p3.2xlarge"] {
            assert!(super::has_nvidia_gpu(t), "{t}");
        }
        for t in ["t3.medium", "g4ad.xlarge", "m5.large", "c7g.large"] {
            assert!(!super::has_nvidia_gpu(t), "{t}");
        }
    }
}
