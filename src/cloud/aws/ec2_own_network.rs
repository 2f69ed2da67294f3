//! A network of the stack's own, when there is no default VPC (or a load
//! balancer needs a second zone): subnets, internet gateway, route table;
//! and its removal with the data.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};

use super::AwsCloud;
use super::ec2_network::{ZONES_USED, ignore_gone};
use super::errors::api_error;
use super::tags::{ec2_spec, filter, ours};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};

impl AwsCloud {
    /// Subnets, gateway and routes of a VPC this program created; each piece
    /// is looked for first and recorded as soon as it exists.
    pub(super) async fn build_own_network(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        vpc: &str,
    ) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let dns = AttributeBooleanValue::builder().value(true).build();
        let request = self
            .ec2
            .modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_hostnames(dns);
        self.settled("ModifyVpcAttribute", || request.clone().send())
            .await?;
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
            let request = self
                .ec2
                .modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build());
            self.settled("ModifySubnetAttribute", || request.clone().send())
                .await?;
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
            .set_filters(Some(ours(stack)))
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
            let request = self
                .ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc);
            self.settled("AttachInternetGateway", || request.clone().send())
                .await?;
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
            .set_filters(Some(ours(stack)))
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
            let request = self
                .ec2
                .create_route()
                .route_table_id(&id)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(igw);
            self.settled("CreateRoute", || request.clone().send())
                .await?;
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
            let request = self
                .ec2
                .associate_route_table()
                .route_table_id(&id)
                .subnet_id(&subnet);
            self.settled("AssociateRouteTable", || request.clone().send())
                .await?;
        }
        Ok(())
    }

    /// A load balancer needs two zones: give a one-subnet VPC a second
    /// subnet, in a free block of its range.
    pub(super) async fn add_second_subnet(
        &self,
        req: &DeployRequest,
        s: &mut Session,
        vpc: &str,
    ) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let existing = self.subnets_of(vpc).await?;
        let used_zone = existing
            .first()
            .and_then(|n| n.availability_zone())
            .unwrap_or_default()
            .to_string();
        let zone = self
            .zones_offering(&req.instance_type)
            .await?
            .into_iter()
            .find(|z| *z != used_zone)
            .ok_or_else(|| {
                CloudError::Refused(
                    "a load balancer needs two zones offering the type; this region has one".into(),
                )
            })?;
        let vpcs = self
            .ec2
            .describe_vpcs()
            .vpc_ids(vpc)
            .send()
            .await
            .map_err(|e| api_error("DescribeVpcs", e))?;
        let range = vpcs
            .vpcs()
            .first()
            .and_then(|v| v.cidr_block())
            .unwrap_or_default()
            .to_string();
        let taken: Vec<String> = existing
            .iter()
            .filter_map(|n| n.cidr_block().map(str::to_string))
            .collect();
        let cidr = free_block(&range, &taken).ok_or_else(|| {
            CloudError::Refused(format!(
                "{vpc} ({range}) has no free block for a second subnet"
            ))
        })?;
        s.progress(
            None,
            format!("second subnet {cidr} in {zone} for the load balancer"),
        )?;
        let created = self
            .ec2
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(&cidr)
            .availability_zone(&zone)
            .tag_specifications(ec2_spec(
                ResourceType::Subnet,
                stack,
                &format!("{stack}-alb-{zone}"),
            ))
            .send()
            .await
            .map_err(|e| api_error("CreateSubnet", e))?;
        let id = created
            .subnet()
            .and_then(|n| n.subnet_id())
            .unwrap_or_default()
            .to_string();
        s.record(|st| {
            st.subnet_ids.push(id.clone());
            st.set_provenance("second_subnet", true);
            st.extra
                .insert("second_subnet_id".into(), id.clone().into());
        })?;
        // Internet-facing like the first: public addresses, and the first
        // subnet's route table (else the VPC's main one applies).
        let public = self
            .ec2
            .modify_subnet_attribute()
            .subnet_id(&id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build());
        self.settled("ModifySubnetAttribute", || public.clone().send())
            .await?;
        let first = existing
            .first()
            .and_then(|n| n.subnet_id())
            .unwrap_or_default();
        if let Some(table) = self.route_table_of(first).await? {
            let associate = self
                .ec2
                .associate_route_table()
                .route_table_id(&table)
                .subnet_id(&id);
            self.settled("AssociateRouteTable", || associate.clone().send())
                .await?;
        }
        Ok(())
    }

    /// The route table explicitly associated with `subnet`, if any.
    async fn route_table_of(&self, subnet: &str) -> CloudResult<Option<String>> {
        let found = self
            .ec2
            .describe_route_tables()
            .filters(filter("association.subnet-id", subnet))
            .send()
            .await
            .map_err(|e| api_error("DescribeRouteTables", e))?;
        Ok(found
            .route_tables()
            .first()
            .and_then(|t| t.route_table_id())
            .map(str::to_string))
    }

    pub(super) async fn delete_own_network(&self, s: &mut Session) -> CloudResult<()> {
        let Some(vpc) = s.state().vpc_id.clone() else {
            return Ok(());
        };
        let second = s
            .state()
            .extra
            .get("second_subnet_id")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if let Some(subnet) = second.filter(|_| s.state().created("second_subnet")) {
            ignore_gone(
                self.ec2
                    .delete_subnet()
                    .subnet_id(&subnet)
                    .send()
                    .await
                    .map_err(|e| api_error("DeleteSubnet", e)),
            )?;
            s.record(|st| {
                st.subnet_ids.retain(|n| n != &subnet);
                st.extra.remove("second_subnet_id");
                st.resource_provenance.remove("second_subnet");
            })?;
        }
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

fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (addr, bits) = cidr.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    (bits <= 32).then_some((u32::from(addr), bits))
}

/// The first block inside `range` that overlaps none of `taken`: a /24, or a
/// quarter of the range when that is smaller.
pub fn free_block(range: &str, taken: &[String]) -> Option<String> {
    let (base, bits) = parse_cidr(range)?;
    let size_bits = if bits <= 22 { 24 } else { (bits + 2).min(28) };
    let size = 1u64 << (32 - size_bits);
    let span = |b: u32, n: u32| (u64::from(b), u64::from(b) + (1u64 << (32 - n)));
    let used: Vec<(u64, u64)> = taken
        .iter()
        .filter_map(|t| parse_cidr(t))
        .map(|(b, n)| span(b, n))
        .collect();
    let (start, end) = span(base, bits);
    let mut at = start;
    while at + size <= end {
        if used.iter().all(|(s, e)| at + size <= *s || at >= *e) {
            return Some(format!(
                "{}/{size_bits}",
                std::net::Ipv4Addr::from(at as u32)
            ));
        }
        at += size;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::free_block;

    #[test]
    fn a_free_block_avoids_the_subnets_there() {
        assert_eq!(
            free_block("10.0.0.0/16", &["10.0.0.0/24".into()]).as_deref(),
            Some("10.0.1.0/24")
        );
        assert_eq!(
            free_block("172.31.0.0/16", &["172.31.0.0/20".into()]).as_deref(),
            Some("172.31.16.0/24")
        );
        assert_eq!(
            free_block("10.0.0.0/26", &["10.0.0.0/28".into()]).as_deref(),
            Some("10.0.0.16/28")
        );
        assert_eq!(free_block("10.0.0.0/24", &["10.0.0.0/24".into()]), None);
        assert_eq!(free_block("garbage", &[]), None);
    }
}
