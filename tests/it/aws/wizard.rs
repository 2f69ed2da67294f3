//! What the deploy wizard asks of AWS: the VPCs of the region, and deploys
//! into a chosen subnet or a VPC of the stack's own.

use geusemaker::cloud::Cloud;
use geusemaker::domain::StackStatus;

use super::Harness;

async fn vpc_exists(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    ec2.describe_vpcs()
        .vpc_ids(id)
        .send()
        .await
        .is_ok_and(|r| !r.vpcs().is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vpcs_of_the_region_are_listed_default_first_with_their_subnets() {
    let h = Harness::start().await;
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let made = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value("team-net")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create vpc");
    let made_id = made.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();

    let found = h
        .cloud(None)
        .await
        .discover_networks("us-east-1")
        .await
        .unwrap();
    let first = &found[0];
    assert!(first.is_default, "{found:?}");
    assert_eq!(first.cidr, "172.31.0.0/16");
    assert!(first.subnets.len() >= 2, "{first:?}");
    assert!(
        first
            .subnets
            .iter()
            .all(|n| n.zone.starts_with("us-east-1"))
    );
    let ours = found.iter().find(|v| v.vpc_id == made_id).expect("listed");
    assert_eq!(ours.name.as_deref(), Some("team-net"));
    assert_eq!(ours.cidr, "10.9.0.0/16");
    assert!(!ours.is_default && ours.subnets.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chosen_subnet_hosts_the_instance_and_a_new_vpc_is_deleted_with_the_stack() {
    let h = Harness::start().await;
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let found = h
        .cloud(None)
        .await
        .discover_networks("us-east-1")
        .await
        .unwrap();
    // The last subnet: never the one the deploy would pick by itself.
    let chosen = found[0].subnets.last().unwrap().subnet_id.clone();
    let mut request = Harness::request("picky");
    request.options.subnet_id = Some(chosen.clone());
    let state = h.deploy_request(&request, None).await.expect("deploy");
    assert_eq!(state.subnet_ids.first(), Some(&chosen));
    let instance = ec2
        .describe_instances()
        .instance_ids(state.instance_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let placed = instance.reservations()[0].instances()[0].subnet_id();
    assert_eq!(placed, Some(chosen.as_str()));

    let mut request = Harness::request("own-net");
    request.options.new_vpc = true;
    let state = h.deploy_request(&request, None).await.expect("deploy");
    assert_eq!(state.status, StackStatus::Running);
    let vpc = state.vpc_id.clone().unwrap();
    assert_ne!(vpc, found[0].vpc_id, "not the default VPC");
    assert!(state.created("vpc"));
    h.destroy("own-net", true).await;
    assert!(
        !vpc_exists(&ec2, &vpc).await,
        "the stack's own VPC went with it"
    );
    assert!(
        vpc_exists(&ec2, &found[0].vpc_id).await,
        "the default stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_aws_cannot_give_is_the_list_price_saying_why() {
    let h = Harness::start().await;
    // moto's Pricing API answers 500; its spot history answers.
    let prices = h
        .cloud(None)
        .await
        .prices("us-east-1", "t3.medium")
        .await
        .unwrap();
    assert_eq!(prices.on_demand_per_hour, Some(0.0416), "the list price");
    assert!(
        prices
            .on_demand_estimate
            .unwrap()
            .contains("Pricing API unavailable")
    );
    assert!(prices.spot_per_hour.is_some_and(|p| p > 0.0));
    assert_eq!(prices.spot_estimate, None, "from the spot history: live");
}
