//! One message in, one classification out: secrets masked, language
//! detected, details extracted, the masked text classified by the model, and
//! the route the policy would take for it in a fresh conversation. This is
//! what `intentdesk classify` prints ([`classify`], synchronous) and
//! `POST /v1/classify` answers (the async service asks the engine for the
//! predictions, then [`Classification::compose`]). Also the check that a model
//! fits the catalog it is served with.

use std::path::Path;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::IntentModel;
use crate::model::prediction::{Prediction, Scored};
use crate::nlu::{self, Analysis, Details, SecretKind};
use crate::policy::{self, ConversationState, PolicyConfig, QueueState};

/// Everything known about one message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Classification {
    /// `ko`, `en`, `zh`, `ja`, or another code.
    pub language: String,
    pub intent: String,
    pub confidence: f32,
    /// The best three intents with their calibrated confidences.
    pub top: Vec<Scored>,
    pub out_of_scope: bool,
    /// What the bot would do with it as the first message of a conversation:
    /// answer, collect, open_ticket, escalate, smalltalk, reject or clarify.
    pub route: String,
    /// The catalog route of the predicted intent.
    pub intent_route: Option<crate::catalog::Route>,
    /// Details found in the text (coin, network, txid, amount, email...).
    pub details: Details,
    /// The text as it would be stored: secrets masked.
    pub masked: String,
    /// Kinds of secret that were masked.
    pub secrets: Vec<SecretKind>,
}

/// Checks a model was trained on this very catalog.
pub fn check_catalog(model: &IntentModel, catalog: &Catalog) -> Result<()> {
    match model.catalog_sha256() {
        Some(sha) if sha == catalog.sha256 => Ok(()),
        Some(sha) => Err(Error::ClassifierMismatch {
            path: model.dir().to_path_buf(),
            reason: format!(
                "it was trained on a different version of the catalog (sha256 {}), but {} is now {}; \
                 rebuild it with `intentdesk train --catalog {} --out {}`",
                &sha[..12.min(sha.len())],
                catalog.dir.display(),
                &catalog.sha256[..12],
                catalog.dir.display(),
                model.dir().display()
            ),
        }),
        None => Err(Error::ClassifierMismatch {
            path: model.dir().to_path_buf(),
            reason: format!(
                "it was not trained on an intent catalog; train one with `intentdesk train --catalog {} --out DIR`",
                catalog.dir.display()
            ),
        }),
    }
}

/// Loads the catalog and validates it, mapping its problems to the library error.
pub fn load_catalog(dir: &Path) -> Result<Catalog> {
    crate::catalog::load::load(dir).map_err(|e| Error::Catalog {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Checks a model fits the catalog it is served with: trained on this very catalog, and
/// every label an intent of it.
pub fn check_model(model: &IntentModel, catalog: &Catalog) -> Result<()> {
    check_catalog(model, catalog)?;
    match model.labels().iter().find(|l| catalog.intent(l).is_none()) {
        Some(unknown) => Err(Error::ClassifierMismatch {
            path: model.dir().to_path_buf(),
            reason: format!(
                "label {unknown:?} is not an intent of {}",
                catalog.dir.display()
            ),
        }),
        None => Ok(()),
    }
}

/// Classifies a batch of raw messages in this thread: what `intentdesk classify` runs. The
/// model must fit the catalog ([`check_model`]).
pub fn classify(
    model: &IntentModel,
    catalog: &Catalog,
    policy: &PolicyConfig,
    texts: &[&str],
) -> Result<Vec<Classification>> {
    let analyses: Vec<Analysis> = texts.iter().map(|t| nlu::analyse(t)).collect();
    let masked: Vec<&str> = analyses.iter().map(|a| a.masked.text.as_str()).collect();
    let predictions = model.predict(&masked)?;
    Ok(analyses
        .into_iter()
        .zip(predictions)
        .map(|(analysis, prediction)| {
            Classification::compose(catalog, policy, analysis, prediction)
        })
        .collect())
}

impl Classification {
    /// Combines an analysis and its prediction with the policy's first-message decision.
    pub fn compose(
        catalog: &Catalog,
        policy: &PolicyConfig,
        analysis: Analysis,
        prediction: Prediction,
    ) -> Classification {
        let outcome = policy::decide(
            catalog,
            policy,
            &ConversationState::default(),
            &analysis,
            &prediction,
            &QueueState::default(),
        );
        Classification {
            language: analysis.detection.lang.code().to_string(),
            intent_route: catalog.intent(&prediction.intent).map(|i| i.route),
            intent: prediction.intent,
            confidence: prediction.confidence,
            top: prediction.top,
            out_of_scope: prediction.out_of_scope,
            route: outcome.decision.name().to_string(),
            details: analysis.details,
            masked: analysis.masked.text,
            secrets: analysis.masked.secrets,
        }
    }
}
