//! A deploy request as the CLI and the wizard hand it to a `Cloud`: the
//! stack, its tier and type, and the less common options, each checked with
//! a sentence a user can act on.

use super::Cidr;
use crate::domain::{StackName, Tier};

/// A validated deploy request.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployRequest {
    pub stack: StackName,
    pub tier: Tier,
    pub region: String,
    pub instance_type: String,
    pub spot: bool,
    pub options: DeployOptions,
}

/// The less common choices of a deploy; the defaults suit most users.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeployOptions {
    /// Use this VPC instead of the default one (or a new one).
    pub vpc_id: Option<String>,
    /// Create a VPC of the stack's own even when there is a default one.
    pub new_vpc: bool,
    /// Launch in this subnet (of the VPC) rather than one picked for the type.
    pub subnet_id: Option<String>,
    /// Open the service ports to this CIDR instead of the caller's own /32.
    pub allow_cidr: Option<Cidr>,
    /// How far the automation tier's ALB is open beyond the allowed CIDRs.
    pub publish: crate::domain::exposure::Publish,
    /// The user's DNS name for n8n, covered by `certificate_arn`.
    pub domain: Option<String>,
    /// The n8n owner's e-mail (default: `owner@STACK.local`).
    pub owner_email: Option<String>,
    /// Allow the expensive instance families (p4, p5, inf2, trn1).
    pub allow_expensive: bool,
    /// Without spot capacity, launch on-demand rather than fail.
    pub fallback_on_demand: bool,
    /// An ACM certificate for the load balancer's HTTPS listener.
    pub certificate_arn: Option<String>,
    /// Launch this AMI instead of resolving one.
    pub ami_id: Option<String>,
    /// A budget to set on the stack; one already recorded stays otherwise.
    pub budget: Option<crate::domain::budget::Budget>,
    /// Deploy even when the plan's estimate is over the budget.
    pub over_budget: bool,
    /// Roll back a deploy whose services never come up (else the settings').
    pub auto_rollback: Option<bool>,
    /// How long the services may take to come up before that rollback.
    pub rollback_timeout_minutes: Option<u32>,
    /// A rollback: a fresh instance replaces the stack's current one, even
    /// on the same launch template version (prepared beside it, then
    /// switched to).
    pub replace_instance: bool,
    /// The instance's own checks (else the stack's, else the defaults).
    pub instance_checks: Option<crate::domain::settings::InstanceChecks>,
    /// Ollama models to pull once the services run (the Models stage).
    pub models: Vec<String>,
    /// The stack's image tags from now on (`update --images`); `None` keeps
    /// the ones it runs.
    pub images: Option<crate::domain::images::ImageTags>,
    /// The SNS topic the instance's watchdog and drain publish to (the
    /// settings' `notify.sns_topic_arn`; else the stack's).
    pub sns_topic_arn: Option<String>,
    /// An update to a newer n8n: the path on the EFS the switch's drain
    /// writes a `pg_dump` to once n8n has stopped, and a revert restores.
    pub database_dump: Option<String>,
}

impl DeployRequest {
    /// The image tags the instance runs: the request's, else those the
    /// stack ran last (recorded once an update succeeds).
    pub fn image_tags(
        &self,
        st: &crate::domain::DeploymentState,
    ) -> crate::domain::images::ImageTags {
        self.options
            .images
            .clone()
            .or_else(|| st.config.as_ref().map(|c| c.images.clone()))
            .unwrap_or_default()
    }
}

impl DeployOptions {
    /// What is wrong with these options for a `tier` deploy, in a sentence.
    pub fn check(&self, tier: Tier) -> Result<(), String> {
        for name in &self.models {
            crate::domain::models::check_name(name)?;
        }
        if let Some(arn) = &self.certificate_arn {
            if !is_certificate_arn(arn) {
                return Err(format!(
                    "{arn:?} is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"
                ));
            }
            if !tier.has_load_balancer() {
                return Err(format!(
                    "the {tier} tier has no load balancer to put a certificate on; use the automation tier"
                ));
            }
        }
        self.check_exposure(tier)?;
        let ids = [
            (&self.ami_id, "ami-", "an AMI"),
            (&self.vpc_id, "vpc-", "a VPC"),
            (&self.subnet_id, "subnet-", "a subnet"),
        ];
        for (id, prefix, what) in ids {
            if let Some(id) = id
                && !is_aws_id(id, prefix)
            {
                return Err(format!(
                    "{id:?} is not {what} id; they look like {prefix}0abc123def4567890"
                ));
            }
        }
        if let Some(minutes) = self.rollback_timeout_minutes
            && !(1..=120).contains(&minutes)
        {
            return Err(format!(
                "a rollback timeout of {minutes} minutes is out of range; use 1 to 120"
            ));
        }
        Ok(())
    }
}

impl DeployOptions {
    /// Certificates, domains and publishing, each refused with its reason.
    fn check_exposure(&self, tier: Tier) -> Result<(), String> {
        use crate::domain::exposure::Publish;
        let cert = self.certificate_arn.is_some();
        if tier == Tier::Gpu && cert {
            return Err(
                "the gpu tier serves HTTPS from CloudFront's own certificate: CloudFront \
                 checks an origin's certificate against the origin's DNS name, which is the \
                 ALB's, not on your certificate (and a viewer certificate must be in us-east-1); \
                 deploy without --certificate-arn"
                    .into(),
            );
        }
        if let Some(domain) = &self.domain {
            if !is_dns_name(domain) {
                return Err(format!("{domain:?} is not a DNS name like n8n.example.com"));
            }
            if tier != Tier::Automation || !cert {
                return Err(
                    "--domain needs the automation tier and --certificate-arn for a certificate covering it".into(),
                );
            }
        }
        if tier == Tier::Automation && cert && self.domain.is_none() {
            return Err(
                "the ALB's own DNS name (…elb.amazonaws.com) is not on your certificate, so \
                 browsers would refuse it: pass --domain n8n.example.com, a name your certificate \
                 covers, and point it (a CNAME) at the ALB"
                    .into(),
            );
        }
        if self.publish != Publish::Private && !(tier == Tier::Automation && cert) {
            return Err(
                "--public and --public-webhooks open the automation tier's load balancer to \
                 the internet, over HTTPS only: they need --tier automation, --certificate-arn \
                 and --domain"
                    .into(),
            );
        }
        if let Some(email) = &self.owner_email
            && !is_email(email)
        {
            return Err(format!(
                "{email:?} is not an e-mail address n8n accepts (name@example.com)"
            ));
        }
        Ok(())
    }
}

fn is_dns_name(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    name.len() <= 253 && name.contains('.') && name.split('.').all(label)
}

/// Plain enough to go into n8n's owner setup and a shell script unquoted.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    local_ok && is_dns_name(domain)
}

fn is_certificate_arn(arn: &str) -> bool {
    arn.starts_with("arn:aws") && arn.contains(":acm:") && arn.contains(":certificate/")
}

fn is_aws_id(id: &str, prefix: &str) -> bool {
    // Lower-case hex, as seed 000's schema has it (`^vpc-[a-f0-9]+$`).
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    id.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(hex))
}

/// `family.size`, e.g. t3.medium, g4dn.xlarge, m7i-flex.large.
pub fn is_instance_type(t: &str) -> bool {
    let Some((family, size)) = t.split_once('.') else {
        return false;
    };
    let ok = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
    };
    ok(family, &['-']) && ok(size, &[]) && family.starts_with(|c: char| c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_type_names() {
        for ok in ["t3.medium", "g4dn.xlarge", "m7i-flex.large", "p5.48xlarge"] {
            assert!(is_instance_type(ok), "{ok}");
        }
        for bad in ["", "t3", ".large", "T3.medium", "t3.", "t3.medium;rm"] {
            assert!(!is_instance_type(bad), "{bad}");
        }
    }

    #[test]
    fn options_are_checked_with_a_sentence_each() {
        let with = |f: fn(&mut DeployOptions)| {
            let mut o = DeployOptions::default();
            f(&mut o);
            o
        };
        assert!(DeployOptions::default().check(Tier::Dev).is_ok());
        let bad_vpc = with(|o| o.vpc_id = Some("vpc-xyz".into()));
        assert!(
            bad_vpc
                .check(Tier::Dev)
                .unwrap_err()
                .contains("not a VPC id")
        );
        let shouting = with(|o| o.vpc_id = Some("vpc-0ABC".into()));
        assert!(
            shouting.check(Tier::Dev).is_err(),
            "the schema's ids are lower-case"
        );
        let bad_subnet = with(|o| o.subnet_id = Some("sub-1".into()));
        assert!(
            bad_subnet
                .check(Tier::Dev)
                .unwrap_err()
                .contains("not a subnet id")
        );
        let cert = with(|o| {
            o.certificate_arn = Some("arn:aws:acm:us-east-1:123456789012:certificate/abc".into())
        });
        assert!(
            cert.check(Tier::Automation)
                .unwrap_err()
                .contains("--domain")
        );
        assert!(cert.check(Tier::Gpu).unwrap_err().contains("CloudFront"));
        let mut named = cert.clone();
        named.domain = Some("n8n.example.com".into());
        assert!(named.check(Tier::Automation).is_ok());
        let public = with(|o| o.publish = crate::domain::exposure::Publish::Public);
        assert!(
            public
                .check(Tier::Automation)
                .unwrap_err()
                .contains("HTTPS only")
        );
        named.publish = crate::domain::exposure::Publish::PublicWebhooks;
        assert!(named.check(Tier::Automation).is_ok());
        let bad_mail = with(|o| o.owner_email = Some("me@$(reboot)".into()));
        assert!(bad_mail.check(Tier::Dev).unwrap_err().contains("e-mail"));
        assert!(
            cert.check(Tier::Dev)
                .unwrap_err()
                .contains("no load balancer")
        );
        let slow = with(|o| o.rollback_timeout_minutes = Some(0));
        assert!(slow.check(Tier::Dev).unwrap_err().contains("1 to 120"));
    }
}
