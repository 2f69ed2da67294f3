//! Deployment tiers (seed 001): what each adds, and so which pipeline stages run.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoStaticStr};

use super::stage::Stage;

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    EnumIter,
    IntoStaticStr,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Tier {
    /// Spot instance + EFS.
    #[default]
    Dev,
    /// Adds an Application Load Balancer in front of n8n.
    Automation,
    /// Adds CloudFront and a GPU instance for Ollama.
    Gpu,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Dev, Tier::Automation, Tier::Gpu];

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn default_instance_type(self) -> &'static str {
        match self {
            Tier::Dev => "t3.medium",
            Tier::Automation => "t3.large",
            Tier::Gpu => "g4dn.xlarge",
        }
    }

    pub fn has_load_balancer(self) -> bool {
        matches!(self, Tier::Automation | Tier::Gpu)
    }

    pub fn has_cdn(self) -> bool {
        matches!(self, Tier::Gpu)
    }

    /// Stages of a deploy, in order. Security groups come before EFS because
    /// the mount target is created inside the EFS security group.
    pub fn deploy_stages(self) -> Vec<Stage> {
        let mut stages = vec![
            Stage::Validate,
            Stage::Network,
            Stage::Security,
            // Baked beside the rest; the instance waits for it.
            Stage::Image,
            Stage::Storage,
            Stage::Identity,
        ];
        // The edge before the instance: n8n starts knowing its public URL.
        if self.has_load_balancer() {
            stages.push(Stage::LoadBalancer);
        }
        if self.has_cdn() {
            stages.push(Stage::Cdn);
        }
        stages.extend([Stage::Instance, Stage::Services, Stage::Health]);
        stages
    }

    /// Stages of a destroy, in dependency order: the edge first, the data last.
    pub fn destroy_stages(self, delete_data: bool) -> Vec<Stage> {
        // The group goes first: it names the target group, and the instance
        // stops serving before its front door is taken away.
        let mut stages = vec![Stage::Terminate];
        if self.has_cdn() {
            stages.push(Stage::Cdn);
        }
        if self.has_load_balancer() {
            stages.push(Stage::LoadBalancer);
        }
        // The builder runs in the stack's security group: it goes first.
        stages.extend([
            Stage::Image,
            Stage::Security,
            Stage::Identity,
            Stage::Storage,
        ]);
        if delete_data {
            stages.push(Stage::Network);
        }
        stages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_tiers_add_their_stages() {
        assert!(!Tier::Dev.deploy_stages().contains(&Stage::LoadBalancer));
        assert!(
            Tier::Automation
                .deploy_stages()
                .contains(&Stage::LoadBalancer)
        );
        let gpu = Tier::Gpu.deploy_stages();
        assert!(gpu.contains(&Stage::Cdn) && gpu.contains(&Stage::LoadBalancer));
        assert_eq!(gpu.last(), Some(&Stage::Health));
    }

    #[test]
    fn destroy_stops_the_instance_first_then_the_edge_and_data_last() {
        let stages = Tier::Gpu.destroy_stages(true);
        assert_eq!(
            stages.first(),
            Some(&Stage::Terminate),
            "the group names the target group"
        );
        assert_eq!(stages[1..3], [Stage::Cdn, Stage::LoadBalancer]);
        let storage = stages.iter().position(|s| *s == Stage::Storage).unwrap();
        let instance = stages.iter().position(|s| *s == Stage::Terminate).unwrap();
        assert!(instance < storage);
        assert!(!Tier::Dev.destroy_stages(false).contains(&Stage::Network));
    }
}
