//! The network: the given VPC, else the default VPC, else a small one of our
//! own (2 public subnets in 2 zones, an internet gateway, a route table), and
//! the two subnets (in zones that offer the instance type) the stack uses.

use aws_sdk_ec2::types::{AttributeBooleanValue, LocationType, ResourceType, Subnet};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec, filter, stack_filter};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};

const VPC_CIDR: &str = "10.42.0.0/16";
/// Subnets the stack spreads over: the instance's, and one more zone for
/// capacity fallback and the load balancer.
const ZONES_USED: usize = 2;

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
        } else if let Some(vpc) = self.default_vpc().await? {
            s.progress(None, format!("default VPC {vpc}"))?;
            (vpc, false)
        } else if let Some(vpc) = self.tagged_vpc(stack).await? {
            (vpc, true)
        } else {
            s.progress(None, "no default VPC: creating one")?;
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
        let subnets = self.pick_subnets(&vpc_id, &req.instance_type).await?;
        if subnets.is_empty() {
            return Err(CloudError::Refused(format!(
                "{vpc_id} has no subnet in a zone that offers {}; pick another --vpc-id or type",
                req.instance_type
            )));
        }
        s.record(|st| st.subnet_ids = subnets.clone())?;
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
        let r = self
            .ec2
            .describe_vpcs()
            .filters(filter("is-default", "true"))
            .send()
            .await
            .map_err(|e| api_error("DescribeVpcs", e))?;
        Ok(r.vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(str::to_string))
    }

    async fn tagged_vpc(&self, stack: &str) -> CloudResult<Option<String>> {
        let r = self
            .ec2
            .describe_vpcs()
            .filters(stack_filter(stack))
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

    /// Subnets, gateway and routes of a VPC this program created; each piece
    /// is looked for first and recorded as soon as it exists.
    async fn build_own_network(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        vpc: &str,
    ) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let dns = AttributeBooleanValue::builder().value(true).build();
        self.ec2
            .modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_hostnames(dns)
            .send()
            .await
            .map_err(|e| api_error("ModifyVpcAttribute", e))?;
        let zones = self.zones_offering(&req.instance_type).await?;
        let existing = self.subnets_of(vpc).await?;
        for (i, zone) in zones.iter().take(ZONES_USED).enumerate() {
            if existing
                .iter()
                .any(|n| n.availability_zone() == Some(zone.as_str()))
            {
                continue;
            }
            s.progress(None, format!("subnet in {zone}"))?;
            let created = self
                .ec2
                .create_subnet()
                .vpc_id(vpc)
                .cidr_block(format!("10.42.{}.0/24", i + 1))
                .availability_zone(zone)
                .tag_specifications(ec2_spec(
                    ResourceType::Subnet,
                    stack,
                    &format!("{stack}-public-{zone}"),
                ))
                .send()
                .await
                .map_err(|e| api_error("CreateSubnet", e))?;
            let id = created
                .subnet()
                .and_then(|n| n.subnet_id())
                .unwrap_or_default()
                .to_string();
            s.record(|st| st.subnet_ids.push(id.clone()))?;
            self.ec2
                .modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
                .send()
                .await
                .map_err(|e| api_error("ModifySubnetAttribute", e))?;
        }
        let igw = self.internet_gateway(s, vpc, stack).await?;
        self.route_table(s, vpc, stack, &igw).await
    }

    async fn internet_gateway(
        &self,
        s: &mut Session,
        vpc: &str,
        stack: &str,
    ) -> CloudResult<String> {
        let found = self
            .ec2
            .describe_internet_gateways()
            .filters(stack_filter(stack))
            .send()
            .await
            .map_err(|e| api_error("DescribeInternetGateways", e))?;
        let (id, attached) = match found.internet_gateways().first() {
            Some(g) => (
                g.internet_gateway_id().unwrap_or_default().to_string(),
                g.attachments().iter().any(|a| a.vpc_id() == Some(vpc)),
            ),
            None => {
                s.progress(None, "internet gateway")?;
                let created = self
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(ec2_spec(
                        ResourceType::InternetGateway,
                        stack,
                        &format!("{stack}-igw"),
                    ))
                    .send()
                    .await
                    .map_err(|e| api_error("CreateInternetGateway", e))?;
                let id = created
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .unwrap_or_default()
                    .to_string();
                (id, false)
            }
        };
        s.record(|st| st.internet_gateway_id = Some(id.clone()))?;
        if !attached {
            self.ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc)
                .send()
                .await
                .map_err(|e| api_error("AttachInternetGateway", e))?;
        }
        Ok(id)
    }

    async fn route_table(
        &self,
        s: &mut Session,
        vpc: &str,
        stack: &str,
        igw: &str,
    ) -> CloudResult<()> {
        let found = self
            .ec2
            .describe_route_tables()
            .filters(stack_filter(stack))
            .filters(filter("vpc-id", vpc))
            .send()
            .await
            .map_err(|e| api_error("DescribeRouteTables", e))?;
        let table = found.route_tables().first().cloned();
        let id = match &table {
            Some(t) => t.route_table_id().unwrap_or_default().to_string(),
            None => {
                let created = self
                    .ec2
                    .create_route_table()
                    .vpc_id(vpc)
                    .tag_specifications(ec2_spec(
                        ResourceType::RouteTable,
                        stack,
                        &format!("{stack}-public"),
                    ))
                    .send()
                    .await
                    .map_err(|e| api_error("CreateRouteTable", e))?;
                created
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .unwrap_or_default()
                    .to_string()
            }
        };
        s.record(|st| st.route_table_id = Some(id.clone()))?;
        let has_default = table.as_ref().is_some_and(|t| {
            t.routes()
                .iter()
                .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        });
        if !has_default {
            self.ec2
                .create_route()
                .route_table_id(&id)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(igw)
                .send()
                .await
                .map_err(|e| api_error("CreateRoute", e))?;
        }
        let associated: Vec<String> = table
            .iter()
            .flat_map(|t| t.associations())
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect();
        for subnet in s.state().subnet_ids.clone() {
            if associated.contains(&subnet) {
                continue;
            }
            self.ec2
                .associate_route_table()
                .route_table_id(&id)
                .subnet_id(&subnet)
                .send()
                .await
                .map_err(|e| api_error("AssociateRouteTable", e))?;
        }
        Ok(())
    }

    async fn subnets_of(&self, vpc: &str) -> CloudResult<Vec<Subnet>> {
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

    /// Up to two subnets in distinct zones that offer the type, public ones first.
    async fn pick_subnets(&self, vpc: &str, instance_type: &str) -> CloudResult<Vec<String>> {
        let zones = self.zones_offering(instance_type).await?;
        let mut subnets = self.subnets_of(vpc).await?;
        subnets.retain(|n| {
            n.availability_zone()
                .is_some_and(|z| zones.iter().any(|o| o == z))
        });
        subnets.sort_by_key(|n| {
            (
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

    pub(super) async fn delete_own_network(&self, s: &mut Session) -> CloudResult<()> {
        let Some(vpc) = s.state().vpc_id.clone() else {
            return Ok(());
        };
        if !s.state().created("vpc") {
            s.record(|st| {
                st.vpc_id = None;
                st.subnet_ids.clear();
            })?;
            s.progress(Some(1.0), format!("{vpc} is not ours: kept"))?;
            return Ok(());
        }
        if let Some(table) = s.state().route_table_id.clone() {
            let found = self
                .ec2
                .describe_route_tables()
                .route_table_ids(&table)
                .send()
                .await;
            if let Ok(found) = found {
                for assoc in found.route_tables().iter().flat_map(|t| t.associations()) {
                    if let (Some(id), false) = (
                        assoc.route_table_association_id(),
                        assoc.main().unwrap_or(false),
                    ) {
                        ignore_gone(
                            self.ec2
                                .disassociate_route_table()
                                .association_id(id)
                                .send()
                                .await
                                .map_err(|e| api_error("DisassociateRouteTable", e)),
                        )?;
                    }
                }
            }
            ignore_gone(
                self.ec2
                    .delete_route_table()
                    .route_table_id(&table)
                    .send()
                    .await
                    .map_err(|e| api_error("DeleteRouteTable", e)),
            )?;
            s.record(|st| st.route_table_id = None)?;
        }
        if let Some(igw) = s.state().internet_gateway_id.clone() {
            ignore_gone(
                self.ec2
                    .detach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .map_err(|e| api_error("DetachInternetGateway", e)),
            )?;
            ignore_gone(
                self.ec2
                    .delete_internet_gateway()
                    .internet_gateway_id(&igw)
                    .send()
                    .await
                    .map_err(|e| api_error("DeleteInternetGateway", e)),
            )?;
            s.record(|st| st.internet_gateway_id = None)?;
        }
        for subnet in s.state().subnet_ids.clone() {
            ignore_gone(
                self.ec2
                    .delete_subnet()
                    .subnet_id(&subnet)
                    .send()
                    .await
                    .map_err(|e| api_error("DeleteSubnet", e)),
            )?;
            s.record(|st| st.subnet_ids.retain(|n| n != &subnet))?;
        }
        ignore_gone(
            self.ec2
                .delete_vpc()
                .vpc_id(&vpc)
                .send()
                .await
                .map_err(|e| api_error("DeleteVpc", e)),
        )?;
        s.record(|st| st.vpc_id = None)?;
        Ok(())
    }
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
