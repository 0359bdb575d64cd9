//! Helpers shared by the library's unit tests (compiled only for them): predictions built by
//! hand and a stand-in model for the engine.

use crate::Result;
use crate::engine::Predictor;
use crate::model::prediction::{Prediction, Rejection, Scored};

/// A prediction whose best classes are `top`, best first: the intent and confidence are the
/// first entry's, the margin is the first minus the second (the first alone if there is no
/// second), and it is out of scope exactly when `rejection` is given.
pub(crate) fn prediction(top: &[(&str, f32)], rejection: Option<Rejection>) -> Prediction {
    let (intent, confidence) = *top.first().expect("a prediction has a best class");
    Prediction {
        intent: intent.to_string(),
        confidence,
        top: top
            .iter()
            .map(|&(intent, confidence)| Scored {
                intent: intent.to_string(),
                confidence,
            })
            .collect(),
        out_of_scope: rejection.is_some(),
        rejection,
        margin: confidence - top.get(1).map_or(0.0, |&(_, runner_up)| runner_up),
    }
}

/// A confident prediction of `intent`, with `greeting` as a distant runner-up.
pub(crate) fn hit(intent: &str, confidence: f32) -> Prediction {
    prediction(
        &[(intent, confidence), ("greeting", (1.0 - confidence) / 2.0)],
        None,
    )
}

// Twin of `Held` in tests/it/harness.rs: sharing one would export test code.
/// A model that answers with `predict(masked texts)`: the one stand-in for the engine's
/// tests and the service's.
pub(crate) struct StandIn<F>(pub(crate) F);

impl<F> Predictor for StandIn<F>
where
    F: Fn(&[&str]) -> Result<Vec<Prediction>> + Send + 'static,
{
    fn predict_masked(&self, masked: &[&str]) -> Result<Vec<Prediction>> {
        (self.0)(masked)
    }
}
