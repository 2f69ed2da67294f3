//! List prices (us-east-1, seed 000 §8.5 and public on-demand prices): what
//! the sandbox charges, and what AWS estimates fall back to when the Pricing
//! API or the spot history cannot be read.

/// (instance type, on-demand $/h, typical spot $/h)
const PRICES: &[(&str, f64, f64)] = &[
    ("t3.micro", 0.0104, 0.0031),
    ("t3.small", 0.0208, 0.0062),
    ("t3.medium", 0.0416, 0.0125),
    ("t3.large", 0.0832, 0.025),
    ("t3.xlarge", 0.1664, 0.0499),
    ("m5.large", 0.096, 0.0352),
    ("m5.xlarge", 0.192, 0.0705),
    ("c5.xlarge", 0.17, 0.0633),
    ("r5.large", 0.126, 0.0388),
    ("g4dn.xlarge", 0.526, 0.1578),
    ("g4dn.2xlarge", 0.752, 0.2256),
    ("g5.xlarge", 1.006, 0.3824),
];

pub const EFS_GB_MONTH: f64 = 0.30;

/// On-demand and spot price per hour of a type the sandbox offers.
pub fn price_of(instance_type: &str) -> Option<(f64, f64)> {
    PRICES
        .iter()
        .find(|(name, _, _)| *name == instance_type)
        .map(|(_, od, spot)| (*od, *spot))
}

pub fn offered_types() -> impl Iterator<Item = &'static str> {
    PRICES.iter().map(|(name, _, _)| *name)
}
