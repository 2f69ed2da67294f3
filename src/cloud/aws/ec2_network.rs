//! The network: the given VPC, else the default VPC, else a small one of our
//! own (2 public subnets in 2 zones, an internet gateway, a route table), and
//! the two subnets (in zones that offer the instance type) the stack uses.

use aws_sdk_ec2::types::{LocationType, ResourceType, Subnet};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec, filter, ours};
use crate::cloud::{CloudError, CloudResult, DeployRequest, NetworkChoice, Session, SubnetChoice};

const VPC_CIDR: &str = "10.42.0.0/16";
/// Subnets the stack spreads over: the instance's, and one more zone for
/// capacity fallback and the load balancer.
pub(super) const ZONES_USED: usize = 2;

impl AwsCloud {
    pub(super) async fn network(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let (vpc_id, created) = if let Some(vpc) = &req.options.vpc_id {
            s.progress(None, format!("using {vpc}"))?;
            self.check_vpc(vpc).await?;
            (vpc.clone(), false)
        } else if let Some(vpc) = s
            .state()
            .vpc_id
            .clone()
            .filter(|_| s.state().created("vpc"))
        {
            (vpc, true)
        } else if let Some(vpc) = self.default_vpc().await?.filter(|_| !req.options.new_vpc) {
            s.progress(None, format!("default VPC {vpc}"))?;
            (vpc, false)
        } else if let Some(vpc) = self.tagged_vpc(stack).await? {
            (vpc, true)
        } else {
            let why = if req.options.new_vpc {
                "creating the stack's own VPC"
            } else {
                "no default VPC: creating one"
            };
            s.progress(None, why)?;
            let vpc = self.create_vpc(stack).await?;
            (vpc, true)
        };
        s.record(|st| {
            st.vpc_id = Some(vpc_id.clone());
            st.set_provenance("vpc", created);
        })?;
        if created {
            self.build_own_network(req, s, &vpc_id).await?;
        }
        let subnets = self
            .pick_subnets(
                &vpc_id,
                &req.instance_type,
                req.options.subnet_id.as_deref(),
            )
            .await?;
        if subnets.is_empty() {
            return Err(CloudError::Refused(format!(
                "{vpc_id} has no subnet in a zone that offers {}; pick another --vpc-id or type",
                req.instance_type
            )));
        }
        s.record(|st| st.subnet_ids = subnets.clone())?;
        if req.tier.has_load_balancer() && subnets.len() < 2 {
            self.add_second_subnet(req, s, &vpc_id).await?;
        }
        let subnets = s.state().subnet_ids.clone();
        let kind = if created { "own VPC" } else { "existing VPC" };
        s.progress(Some(1.0), format!("{kind}, {} subnets", subnets.len()))?;
        Ok(())
    }

    async fn check_vpc(&self, vpc: &str) -> CloudResult<()> {
        let found = self.ec2.describe_vpcs().vpc_ids(vpc).send().await;
        match found {
            Ok(r) if !r.vpcs().is_empty() => Ok(()),
            Ok(_) => Err(no_such_vpc(vpc)),
            Err(e) => {
                let e = api_error("DescribeVpcs", e);
                Err(if code_of(&e) == Some("InvalidVpcID.NotFound") {
                    no_such_vpc(vpc)
                } else {
                    e
                })
            }
        }
    }

    async fn default_vpc(&self) -> CloudResult<Option<String>> {
        self.first_vpc(vec![filter("is-default", "true")]).await
    }

    async fn tagged_vpc(&self, stack: &str) -> CloudResult<Option<String>> {
        self.first_vpc(ours(stack)).await
    }

    async fn first_vpc(&self, by: Vec<aws_sdk_ec2::types::Filter>) -> CloudResult<Option<String>> {
        let r = self
            .ec2
            .describe_vpcs()
            .set_filters(Some(by))
            .send()
            .await
            .map_err(|e| api_error("DescribeVpcs", e))?;
        Ok(r.vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(str::to_string))
    }

    async fn create_vpc(&self, stack: &str) -> CloudResult<String> {
        let r = self
            .ec2
            .create_vpc()
            .cidr_block(VPC_CIDR)
            .tag_specifications(ec2_spec(ResourceType::Vpc, stack, &format!("{stack}-vpc")))
            .send()
            .await
            .map_err(|e| api_error("CreateVpc", e))?;
        r.vpc()
            .and_then(|v| v.vpc_id())
            .map(str::to_string)
            .ok_or_else(|| CloudError::api("CreateVpc", "NoId", "no VPC id in the answer"))
    }

    pub(super) async fn subnets_of(&self, vpc: &str) -> CloudResult<Vec<Subnet>> {
        let r = self
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", vpc))
            .send()
            .await
            .map_err(|e| api_error("DescribeSubnets", e))?;
        Ok(r.subnets().to_vec())
    }

    /// Availability zones of the region that offer `instance_type`, sorted.
    pub(super) async fn zones_offering(&self, instance_type: &str) -> CloudResult<Vec<String>> {
        let r = self
            .ec2
            .describe_instance_type_offerings()
            .location_type(LocationType::AvailabilityZone)
            .filters(filter("instance-type", instance_type))
            .send()
            .await
            .map_err(|e| api_error("DescribeInstanceTypeOfferings", e))?;
        let mut zones: Vec<String> = r
            .instance_type_offerings()
            .iter()
            .filter_map(|o| o.location().map(str::to_string))
            .collect();
        zones.sort();
        zones.dedup();
        Ok(zones)
    }

    /// Up to two subnets in distinct zones that offer the type: the chosen
    /// one first, then public ones.
    async fn pick_subnets(
        &self,
        vpc: &str,
        instance_type: &str,
        chosen: Option<&str>,
    ) -> CloudResult<Vec<String>> {
        let zones = self.zones_offering(instance_type).await?;
        let mut subnets = self.subnets_of(vpc).await?;
        subnets.retain(|n| {
            n.availability_zone()
                .is_some_and(|z| zones.iter().any(|o| o == z))
        });
        if let Some(chosen) = chosen
            && !subnets.iter().any(|n| n.subnet_id() == Some(chosen))
        {
            return Err(CloudError::Refused(format!(
                "subnet {chosen} is not in {vpc}, or its zone does not offer {instance_type}; choose another"
            )));
        }
        subnets.sort_by_key(|n| {
            (
                n.subnet_id() != chosen,
                !n.map_public_ip_on_launch().unwrap_or(false),
                n.availability_zone().unwrap_or_default().to_string(),
            )
        });
        let mut picked: Vec<&Subnet> = Vec::new();
        for subnet in &subnets {
            if picked.len() == ZONES_USED {
                break;
            }
            if !picked
                .iter()
                .any(|p| p.availability_zone() == subnet.availability_zone())
            {
                picked.push(subnet);
            }
        }
        Ok(picked
            .iter()
            .filter_map(|n| n.subnet_id().map(str::to_string))
            .collect())
    }
}

impl AwsCloud {
    /// Every VPC of the region with its subnets, the default one first.
    pub(super) async fn networks(&self) -> CloudResult<Vec<NetworkChoice>> {
        let vpcs = self
            .ec2
            .describe_vpcs()
            .send()
            .await
            .map_err(|e| api_error("DescribeVpcs", e))?;
        let subnets = self
            .ec2
            .describe_subnets()
            .send()
            .await
            .map_err(|e| api_error("DescribeSubnets", e))?;
        let mut found: Vec<NetworkChoice> = vpcs
            .vpcs()
            .iter()
            .filter_map(|v| {
                let vpc_id = v.vpc_id()?.to_string();
                let mut own: Vec<SubnetChoice> = subnets
                    .subnets()
                    .iter()
                    .filter(|n| n.vpc_id() == Some(vpc_id.as_str()))
                    .filter_map(subnet_choice)
                    .collect();
                own.sort_by(|a, b| (&a.zone, &a.subnet_id).cmp(&(&b.zone, &b.subnet_id)));
                Some(NetworkChoice {
                    cidr: v.cidr_block().unwrap_or_default().to_string(),
                    name: name_tag(v.tags()),
                    is_default: v.is_default().unwrap_or(false),
                    subnets: own,
                    vpc_id,
                })
            })
            .collect();
        found.sort_by(|a, b| (!a.is_default, &a.vpc_id).cmp(&(!b.is_default, &b.vpc_id)));
        Ok(found)
    }
}

fn subnet_choice(n: &Subnet) -> Option<SubnetChoice> {
    Some(SubnetChoice {
        subnet_id: n.subnet_id()?.to_string(),
        zone: n.availability_zone().unwrap_or_default().to_string(),
        cidr: n.cidr_block().unwrap_or_default().to_string(),
        public: n.map_public_ip_on_launch().unwrap_or(false),
    })
}

fn name_tag(tags: &[aws_sdk_ec2::types::Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .map(str::to_string)
}

/// A delete of something already gone succeeded.
pub(super) fn ignore_gone<T>(result: CloudResult<T>) -> CloudResult<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if code_of(&e).is_some_and(|c| {
                c.ends_with(".NotFound") || c.ends_with("NotFound") || c == "Gateway.NotAttached"
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn no_such_vpc(vpc: &str) -> CloudError {
    CloudError::Refused(format!(
        "VPC {vpc} does not exist in this region; check --vpc-id and --region"
    ))
}
