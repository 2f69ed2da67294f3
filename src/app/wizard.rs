//! The deploy wizard's state: one step at a time, each with what was entered
//! so far (going back loses nothing), and what the background lookups found.
//! Keys are in `update/wizard.rs`, the view in `ui/wizard.rs`.

use std::collections::HashMap;

use ratatui_textarea::TextArea;
use strum::{EnumIter, IntoEnumIterator};

use crate::cloud::{Cidr, NetworkChoice, Prices};
use crate::deploy::plan::Plan;
use crate::domain::budget::BudgetAction;
use crate::domain::list_prices::{self, InstanceOffer};
use crate::domain::{Tier, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, EnumIter)]
pub enum Step {
    Name,
    Tier,
    Region,
    Network,
    Instance,
    Access,
    Options,
    Plan,
}

impl Step {
    pub fn title(self) -> &'static str {
        match self {
            Step::Name => "Name",
            Step::Tier => "Tier",
            Step::Region => "Region",
            Step::Network => "Network",
            Step::Instance => "Instance",
            Step::Access => "Access",
            Step::Options => "Options",
            Step::Plan => "Plan",
        }
    }

    /// The step's one-line explanation.
    pub fn explain(self) -> &'static str {
        match self {
            Step::Name => "Names the stack, its resources and its state file.",
            Step::Tier => "What the stack runs behind; every tier runs all five services.",
            Step::Region => "Where the stack's resources live; prices differ by region.",
            Step::Network => "The VPC the instance and its EFS go in.",
            Step::Instance => {
                "Spot is far cheaper; the monitor relaunches it when AWS takes it back."
            }
            Step::Access => "Who may reach the services; everyone else is refused.",
            Step::Options => "What happens when things go wrong or cost too much.",
            Step::Plan => "Nothing exists yet: this is what Deploy creates, and what it costs.",
        }
    }

    pub fn number(self) -> usize {
        Step::iter().position(|s| s == self).unwrap_or(0) + 1
    }

    pub fn next(self) -> Option<Step> {
        Step::iter().skip_while(|s| *s != self).nth(1)
    }

    pub fn prev(self) -> Option<Step> {
        Step::iter().take_while(|s| *s != self).last()
    }
}

/// Something the wizard looks up in the background.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup<T> {
    Loading,
    Ready(T),
    /// Why it failed; the step then takes manual input.
    Failed(String),
}

impl<T> Lookup<T> {
    pub fn is_loading(&self) -> bool {
        matches!(self, Lookup::Loading)
    }
}

/// A row of the network step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NetworkRow<'a> {
    Vpc(&'a NetworkChoice),
    /// Discovery has not answered: the deploy finds the default VPC itself.
    DefaultAtDeploy,
    CreateNew,
    /// Discovery failed: the user types a VPC id.
    Typed,
}

/// The fields of the access step, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter)]
pub enum AccessField {
    AllowCidr,
    OwnerEmail,
    Certificate,
}

/// The fields of the options step, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter)]
pub enum OptionsField {
    AutoRollback,
    RollbackTimeout,
    Budget,
    BudgetAction,
    Models,
}

#[derive(Debug)]
pub struct Wizard {
    pub step: Step,
    pub name: TextArea<'static>,
    /// The name is the suggested one, untouched: the first edit replaces it.
    pub name_suggested: bool,
    pub tier: Tier,
    /// Region codes, the dashboard's first.
    pub regions: Vec<String>,
    pub region: usize,
    /// The VPCs of `lookup_region`.
    pub networks: Lookup<Vec<NetworkChoice>>,
    /// The region every lookup is for: the chosen one, once past its step.
    pub lookup_region: String,
    pub network: usize,
    /// The chosen subnet of the chosen VPC; `None` lets the deploy pick.
    pub subnet: Option<usize>,
    /// The network step's focus: the VPC list, or its subnet / typed id.
    pub network_detail: bool,
    pub typed_vpc: TextArea<'static>,
    /// Index into the tier's offered types.
    pub instance: usize,
    pub spot: bool,
    /// Live prices by instance type, for the chosen region.
    pub quotes: HashMap<String, Lookup<Prices>>,
    /// The G-instance quota verdict by (type, spot), for the chosen region.
    pub gpu_quotas: HashMap<(String, bool), Lookup<Option<String>>>,
    pub caller: Option<Lookup<Cidr>>,
    pub access_field: AccessField,
    pub allow_cidr: TextArea<'static>,
    pub owner_email: TextArea<'static>,
    pub certificate: TextArea<'static>,
    pub options_field: OptionsField,
    pub auto_rollback: bool,
    pub rollback_minutes: TextArea<'static>,
    pub budget: TextArea<'static>,
    pub budget_action: BudgetAction,
    /// The models pulled at first boot; `None` until chosen: the tier's.
    pub models: Option<Vec<String>>,
    /// The catalogue's model the Models field points at.
    pub model_cursor: usize,
    /// What is wrong with the step as it stands; Next is blocked meanwhile.
    pub error: Option<String>,
    /// The plan shown on the last step, and the request it was made from.
    pub review: Option<Box<(crate::cloud::DeployRequest, Plan)>>,
    pub plan_scroll: u16,
    /// `q` was pressed: leave? (y/n)
    pub leaving: bool,
}

/// Where the wizard starts: the user's defaults from the settings.
pub struct WizardDefaults<'a> {
    /// Suggested, as the seed did: `ai-stack-YYYYMMDD`, free among the live ones.
    pub name: &'a str,
    pub region: &'a str,
    pub tier: Tier,
    /// The settings' type, chosen when the tier offers it.
    pub instance_type: &'a str,
    pub spot: bool,
    pub auto_rollback: bool,
    pub rollback_minutes: u32,
    pub budget_action: BudgetAction,
}

pub fn single_line(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(ratatui_textarea::CursorMove::End);
    area
}

fn placeholder(text: &str) -> TextArea<'static> {
    let mut area = single_line("");
    area.set_placeholder_text(text);
    area
}

/// `ai-stack-YYYYMMDD` on `today`, with `-2`, `-3`… while that name is taken
/// by a stack that is not destroyed.
pub fn suggested_name(today: Timestamp, live: &[&str]) -> String {
    let base = format!("ai-stack-{}", today.0.format("%Y%m%d"));
    if !live.contains(&base.as_str()) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|n| !live.contains(&n.as_str()))
        .unwrap_or(base)
}

pub fn text_of(area: &TextArea<'_>) -> String {
    area.lines().join("").trim().to_string()
}

impl Wizard {
    pub fn new(defaults: &WizardDefaults) -> Self {
        let mut wizard = Self {
            step: Step::Name,
            name: single_line(defaults.name),
            name_suggested: !defaults.name.is_empty(),
            tier: defaults.tier,
            regions: crate::domain::regions::current_first(defaults.region),
            region: 0,
            networks: Lookup::Loading,
            lookup_region: defaults.region.to_string(),
            network: 0,
            subnet: None,
            network_detail: false,
            typed_vpc: placeholder("vpc-0abc123def4567890"),
            instance: 0,
            spot: defaults.spot,
            quotes: HashMap::new(),
            gpu_quotas: HashMap::new(),
            caller: None,
            access_field: AccessField::AllowCidr,
            allow_cidr: placeholder("your public IP /32"),
            owner_email: placeholder("owner@STACK.local"),
            certificate: placeholder("none: HTTP only"),
            options_field: OptionsField::AutoRollback,
            auto_rollback: defaults.auto_rollback,
            rollback_minutes: single_line(&defaults.rollback_minutes.to_string()),
            budget: placeholder("none, or dollars a month"),
            budget_action: defaults.budget_action,
            models: None,
            model_cursor: 0,
            error: None,
            review: None,
            plan_scroll: 0,
            leaving: false,
        };
        wizard.select_default_type();
        wizard.select_default_model();
        if let Some(at) = wizard
            .offers()
            .iter()
            .position(|o| o.name == defaults.instance_type)
        {
            wizard.instance = at;
        }
        wizard
    }

    pub fn region(&self) -> &str {
        self.regions.get(self.region).map_or("", String::as_str)
    }

    /// The instance types offered for the chosen tier.
    pub fn offers(&self) -> Vec<&'static InstanceOffer> {
        list_prices::offers_for(self.tier).collect()
    }

    pub fn offer(&self) -> Option<&'static InstanceOffer> {
        self.offers().get(self.instance).copied()
    }

    pub fn instance_type(&self) -> &'static str {
        self.offer()
            .map_or(self.tier.default_instance_type(), |o| o.name)
    }

    /// Point the type list at the tier's default type.
    pub fn select_default_type(&mut self) {
        let default = self.tier.default_instance_type();
        self.instance = self
            .offers()
            .iter()
            .position(|o| o.name == default)
            .unwrap_or(0);
    }

    pub fn network_rows(&self) -> Vec<NetworkRow<'_>> {
        match &self.networks {
            Lookup::Ready(vpcs) => vpcs
                .iter()
                .map(NetworkRow::Vpc)
                .chain([NetworkRow::CreateNew])
                .collect(),
            Lookup::Loading => vec![NetworkRow::DefaultAtDeploy, NetworkRow::CreateNew],
            Lookup::Failed(_) => vec![
                NetworkRow::DefaultAtDeploy,
                NetworkRow::CreateNew,
                NetworkRow::Typed,
            ],
        }
    }

    pub fn network_row(&self) -> NetworkRow<'_> {
        let rows = self.network_rows();
        rows.get(self.network)
            .copied()
            .unwrap_or(NetworkRow::DefaultAtDeploy)
    }

    /// The access step shows a certificate only where there is a load balancer.
    pub fn access_fields(&self) -> Vec<AccessField> {
        AccessField::iter()
            .filter(|f| *f != AccessField::Certificate || self.tier.has_load_balancer())
            .collect()
    }

    /// Whether keys go to a text field (so `q` is a letter, not "leave").
    pub fn typing(&self) -> bool {
        match self.step {
            Step::Name | Step::Access => true,
            Step::Network => self.network_detail && self.network_row() == NetworkRow::Typed,
            Step::Options => matches!(
                self.options_field,
                OptionsField::RollbackTimeout | OptionsField::Budget
            ),
            _ => false,
        }
    }

    /// The quota verdict of the chosen type and market, when asked.
    pub fn gpu_quota(&self) -> Option<&Lookup<Option<String>>> {
        self.gpu_quotas
            .get(&(self.instance_type().to_string(), self.spot))
    }

    /// Whether a spinner is showing: something is still loading.
    pub fn loading(&self) -> bool {
        self.networks.is_loading()
            || self.caller.as_ref().is_some_and(Lookup::is_loading)
            || self.quotes.values().any(Lookup::is_loading)
            || self.gpu_quotas.values().any(Lookup::is_loading)
    }

    /// The models pulled at first boot: the chosen ones, else the tier's.
    pub fn boot_models(&self) -> Vec<String> {
        self.models.clone().unwrap_or_else(|| {
            vec![
                crate::domain::models::default_model(self.tier)
                    .name
                    .to_string(),
            ]
        })
    }

    /// Point the Models field at the tier's default model.
    pub fn select_default_model(&mut self) {
        let default = crate::domain::models::default_model(self.tier).name;
        self.model_cursor = crate::domain::models::CATALOGUE
            .iter()
            .position(|m| m.name == default)
            .unwrap_or(0);
    }

    /// Put the model under the cursor in or out of those pulled at boot.
    pub fn toggle_model(&mut self) {
        let Some(known) = crate::domain::models::CATALOGUE.get(self.model_cursor) else {
            return;
        };
        let mut chosen = self.boot_models();
        match chosen.iter().position(|m| m == known.name) {
            Some(at) => {
                chosen.remove(at);
            }
            None => chosen.push(known.name.to_string()),
        }
        self.models = Some(chosen);
    }

    /// Point the Models field at the next or the previous model (wrapping).
    pub fn move_model_cursor(&mut self, forward: bool) {
        let n = crate::domain::models::CATALOGUE.len();
        self.model_cursor = (self.model_cursor + if forward { 1 } else { n - 1 }) % n;
    }

    /// The live price of the chosen type, once loaded.
    pub fn quote(&self) -> Option<&Lookup<Prices>> {
        self.quotes.get(self.instance_type())
    }
}

/// Lookup answers for the tests of the wizard's update and view.
#[cfg(test)]
pub mod answers {
    use crate::app::msg::{Found, Msg};
    use crate::cloud::Prices;

    /// The sandbox's VPCs of `region`, found.
    pub fn vpcs(region: &str) -> Msg {
        Msg::Found(Found::Networks {
            region: region.into(),
            result: Ok(crate::cloud::sandbox::networks_of(region)),
        })
    }

    /// Live prices of a type in us-east-1.
    pub fn prices(instance_type: &str, spot: f64, on_demand: f64) -> Msg {
        Msg::Found(Found::Prices {
            region: "us-east-1".into(),
            instance_type: instance_type.into(),
            result: Ok(Prices {
                on_demand_per_hour: Some(on_demand),
                spot_per_hour: Some(spot),
                efs_gb_month: 0.30,
                on_demand_estimate: None,
                spot_estimate: None,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_in_order_both_ways() {
        assert_eq!(Step::Name.next(), Some(Step::Tier));
        assert_eq!(Step::Plan.next(), None);
        assert_eq!(Step::Name.prev(), None);
        assert_eq!(Step::Plan.prev(), Some(Step::Options));
        assert_eq!(Step::Plan.number(), 8);
    }
}
