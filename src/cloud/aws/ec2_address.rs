//! Dev's Elastic IP: one address per stack, tagged, allocated before the
//! first launch. Each instance of the group claims it at boot (its user
//! data), so the address and n8n's URL survive a replacement. It stays
//! while the group is at 0 (a budget stop), and goes with destroy.

use aws_sdk_ec2::types::{Address, DomainType, ResourceType};

use super::AwsCloud;
use super::ec2_network::ignore_gone;
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec, is_managed, ours};
use crate::cloud::{CloudResult, Session};

impl AwsCloud {
    /// The stack's address: the recorded one, else one tagged as ours
    /// (a run that died before recording it), else a new one.
    pub(super) async fn address(&self, s: &mut Session) -> CloudResult<Address> {
        let stack = s.state().stack_name.clone();
        if let Some(id) = s.state().elastic_ip_allocation_id.clone()
            && let Some(found) = self.describe_address(&id).await?
        {
            return Ok(found);
        }
        let address = match self.tagged(&stack).await? {
            Some(a) => a,
            None => {
                s.progress(None, "allocating the stack's Elastic IP")?;
                let made = self
                    .ec2
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(ec2_spec(
                        ResourceType::ElasticIp,
                        &stack,
                        &format!("{stack}-n8n"),
                    ))
                    .send()
                    .await
                    .map_err(|e| api_error("AllocateAddress", e))?;
                Address::builder()
                    .set_allocation_id(made.allocation_id().map(str::to_string))
                    .set_public_ip(made.public_ip().map(str::to_string))
                    .build()
            }
        };
        let id = address.allocation_id().unwrap_or_default().to_string();
        let ip = address.public_ip().map(str::to_string);
        s.record(|st| {
            st.elastic_ip_allocation_id = Some(id);
            st.set_provenance("elastic_ip", true);
            st.public_ip = ip.clone();
            st.n8n_url = ip.map(|ip| format!("http://{ip}:5678"));
        })?;
        Ok(address)
    }

    async fn tagged(&self, stack: &str) -> CloudResult<Option<Address>> {
        let found = self
            .ec2
            .describe_addresses()
            .set_filters(Some(ours(stack)))
            .send()
            .await
            .map_err(|e| api_error("DescribeAddresses", e))?;
        Ok(found.addresses().first().cloned())
    }

    /// The allocation id of an address tagged as the stack's.
    pub(super) async fn tagged_address(&self, stack: &str) -> CloudResult<Option<String>> {
        Ok(self
            .tagged(stack)
            .await?
            .and_then(|a| a.allocation_id().map(str::to_string)))
    }

    async fn describe_address(&self, allocation: &str) -> CloudResult<Option<Address>> {
        let found = self
            .ec2
            .describe_addresses()
            .allocation_ids(allocation)
            .send()
            .await
            .map_err(|e| api_error("DescribeAddresses", e));
        match found {
            Ok(r) => Ok(r.addresses().first().cloned().filter(|a| {
                is_managed(
                    a.tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
                )
            })),
            Err(e) if code_of(&e).is_some_and(|c| c.contains("NotFound")) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Move the stack's address to `instance` (a fall-back gives it back to
    /// the old one, which the new one took it from).
    pub(super) async fn claim_address(&self, allocation: &str, instance: &str) -> CloudResult<()> {
        self.ec2
            .associate_address()
            .allocation_id(allocation)
            .instance_id(instance)
            .allow_reassociation(true)
            .send()
            .await
            .map_err(|e| api_error("AssociateAddress", e))?;
        Ok(())
    }

    /// Release the stack's address (disassociated first); gone is fine.
    pub(super) async fn release_address(&self, s: &mut Session) -> CloudResult<()> {
        let Some(id) = s.state().elastic_ip_allocation_id.clone() else {
            return Ok(());
        };
        if let Some(address) = self.describe_address(&id).await? {
            if let Some(association) = address.association_id() {
                ignore_gone(
                    self.ec2
                        .disassociate_address()
                        .association_id(association)
                        .send()
                        .await
                        .map_err(|e| api_error("DisassociateAddress", e)),
                )?;
            }
            ignore_gone(
                self.ec2
                    .release_address()
                    .allocation_id(&id)
                    .send()
                    .await
                    .map_err(|e| api_error("ReleaseAddress", e)),
            )?;
        }
        s.record(|st| {
            st.elastic_ip_allocation_id = None;
            st.public_ip = None;
        })?;
        Ok(())
    }
}
