//! A counter of wei for `gas_spent_wei_total`: summed exactly as a 256-bit integer, exported
//! as the nearest `f64` (see [`super::Metrics`] for why).

use std::{
    fmt,
    sync::{Mutex, PoisonError},
};

use alloy::primitives::U256;
use prometheus_client::{
    encoding::{EncodeMetric, MetricEncoder, NoLabelSet},
    metrics::{MetricType, TypedMetric},
};

/// A counter of wei: summed exactly as a `U256`, encoded as the nearest `f64`.
#[derive(Debug, Default)]
pub(super) struct WeiTotal(Mutex<U256>);

impl WeiTotal {
    pub(super) fn add(&self, wei: U256) {
        let mut total = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *total = total.saturating_add(wei);
    }

    pub(super) fn get(&self) -> U256 {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TypedMetric for WeiTotal {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for WeiTotal {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        let total = f64::from(self.get());
        encoder.encode_counter::<NoLabelSet, f64, f64>(&total, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}
