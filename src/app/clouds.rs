//! The runner's clouds, one per region. AWS clients are bound to a region,
//! so a stack in another region (chosen in the wizard, or deployed with
//! `--region`) gets its own, connected on first use and then kept. The
//! sandbox is one simulated cloud for every region.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::effect::Query;
use super::msg::Found;
use crate::deploy::Context;

pub type Connecting = Pin<Box<dyn Future<Output = Result<Context, String>> + Send>>;
/// Sets up the context of another region (credentials are checked again).
pub type Connect = Arc<dyn Fn(String) -> Connecting + Send + Sync>;

#[derive(Clone)]
pub struct Clouds {
    home: Context,
    home_region: String,
    connect: Option<Connect>,
    others: Arc<Mutex<HashMap<String, Context>>>,
}

impl Clouds {
    /// Every region is served by `home` (the sandbox, or tests).
    pub fn single(home: Context, home_region: &str) -> Self {
        Self {
            home,
            home_region: home_region.to_string(),
            connect: None,
            others: Arc::default(),
        }
    }

    pub fn per_region(home: Context, home_region: &str, connect: Connect) -> Self {
        Self {
            connect: Some(connect),
            ..Self::single(home, home_region)
        }
    }

    /// The context for `region`, connecting it the first time.
    pub async fn in_region(&self, region: &str) -> Result<Context, String> {
        let Some(connect) = self.connect.as_ref().filter(|_| region != self.home_region) else {
            return Ok(self.home.clone());
        };
        // Held across the connect: two tasks never connect one region twice.
        let mut others = self.others.lock().await;
        if let Some(ctx) = others.get(region) {
            return Ok(ctx.clone());
        }
        let ctx = connect(region.to_string())
            .await
            .map_err(|e| format!("could not connect to {region}: {e}"))?;
        others.insert(region.to_string(), ctx.clone());
        Ok(ctx)
    }

    /// Ask the region's cloud what the wizard wants to know.
    pub async fn answer(&self, query: Query) -> Found {
        let cloud = match self.in_region(query.region()).await {
            Ok(ctx) => ctx.cloud,
            Err(why) => return query.failed(why),
        };
        let text = |e: crate::cloud::CloudError| e.to_string();
        match query {
            Query::Networks { region } => Found::Networks {
                result: cloud.discover_networks(&region).await.map_err(text),
                region,
            },
            Query::Prices {
                region,
                instance_type,
            } => Found::Prices {
                result: cloud.prices(&region, &instance_type).await.map_err(text),
                region,
                instance_type,
            },
            Query::CallerCidr { .. } => Found::CallerCidr {
                result: cloud.caller_cidr().await.map_err(text),
            },
            Query::GpuQuota {
                region,
                instance_type,
                spot,
            } => Found::GpuQuota {
                result: cloud.gpu_quota(&instance_type, spot).await.map_err(text),
                region,
                instance_type,
                spot,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::cloud::sandbox::SandboxCloud;
    use crate::deploy::Timing;
    use crate::domain::Provider;
    use crate::domain::time::SystemClock;
    use crate::store::Store;

    fn context(dir: &std::path::Path) -> Context {
        let clock = Arc::new(SystemClock);
        Context {
            cloud: Arc::new(SandboxCloud::new(dir, clock.clone(), 1.0)),
            store: Store::open(dir).unwrap(),
            clock,
            timing: Timing::for_provider(Provider::Sandbox, 1.0, 15),
            auto_rollback: true,
        }
    }

    #[tokio::test]
    async fn another_region_connects_once_and_a_failure_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = context(dir.path());
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let template = home.clone();
        let connect: Connect = Arc::new(move |region: String| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            let ctx = template.clone();
            Box::pin(async move {
                if region == "eu-south-2" && n == 1 {
                    Err("no credentials".to_string())
                } else {
                    Ok(ctx)
                }
            })
        });
        let clouds = Clouds::per_region(home, "us-east-1", connect);
        clouds.in_region("us-east-1").await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "the home region is already there"
        );
        clouds.in_region("eu-west-1").await.unwrap();
        clouds.in_region("eu-west-1").await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "connected once, then kept");
        let Err(why) = clouds.in_region("eu-south-2").await else {
            panic!("connected although connecting failed")
        };
        assert!(
            why.contains("eu-south-2") && why.contains("no credentials"),
            "{why}"
        );
        clouds.in_region("eu-south-2").await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3, "a failure is tried again");
    }
}
