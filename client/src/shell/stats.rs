//! Reads what the machine needs from `RTCPeerConnection.getStats()` into a [`StatsSample`]:
//! audio levels, RTP counters, jitter and round-trip time (see `machine::quality` for what is
//! made of them).
//!
//! The report is a map of dictionaries keyed by ID; browsers differ in what they fill in, so
//! every field is read defensively and a missing one stays `None`. The selected candidate
//! pair is the transport's `selectedCandidatePairId` (Chromium) or the pair marked `selected`
//! (Firefox).

use js_sys::{Map, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

use crate::machine::StatsSample;

/// Samples `pc`'s statistics; an empty sample when the browser refuses.
pub(crate) async fn sample(pc: &RtcPeerConnection) -> StatsSample {
    let Ok(report) = JsFuture::from(pc.get_stats()).await else {
        return StatsSample::default();
    };
    let report: Map = report.unchecked_into();
    let mut sample = StatsSample::default();
    let mut selected_pair: Option<String> = None;
    let mut pairs: Vec<JsValue> = Vec::new();
    let mut remote_rtt = None;
    report.for_each(&mut |stats, _id| match text(&stats, "type").as_deref() {
        Some("media-source") if is_audio(&stats) => {
            sample.local_level = number(&stats, "audioLevel");
        }
        Some("inbound-rtp") if is_audio(&stats) => {
            sample.remote_level = number(&stats, "audioLevel");
            sample.packets_received = number(&stats, "packetsReceived").map(|n| n as u64);
            sample.packets_lost = number(&stats, "packetsLost").map(|n| n as i64);
            sample.jitter_s = number(&stats, "jitter");
        }
        Some("outbound-rtp") if is_audio(&stats) => {
            sample.packets_sent = number(&stats, "packetsSent").map(|n| n as u64);
        }
        Some("remote-inbound-rtp") if is_audio(&stats) => {
            sample.remote_packets_lost = number(&stats, "packetsLost").map(|n| n as i64);
            sample.remote_jitter_s = number(&stats, "jitter");
            remote_rtt = number(&stats, "roundTripTime");
        }
        Some("transport") => {
            if let Some(id) = text(&stats, "selectedCandidatePairId") {
                selected_pair = Some(id);
            }
        }
        Some("candidate-pair") => pairs.push(stats),
        _ => {}
    });
    let pair = pairs.iter().find(|pair| match &selected_pair {
        Some(id) => text(pair, "id").as_deref() == Some(id),
        None => Reflect::get(pair, &"selected".into()).ok() == Some(JsValue::TRUE),
    });
    sample.rtt_s = pair
        .and_then(|pair| number(pair, "currentRoundTripTime"))
        .or(remote_rtt);
    sample
}

/// Whether a stats dictionary is about audio (`kind`, or the older `mediaType`).
fn is_audio(stats: &JsValue) -> bool {
    text(stats, "kind")
        .or_else(|| text(stats, "mediaType"))
        .is_none_or(|kind| kind == "audio")
}

fn text(stats: &JsValue, field: &str) -> Option<String> {
    Reflect::get(stats, &field.into()).ok()?.as_string()
}

fn number(stats: &JsValue, field: &str) -> Option<f64> {
    Reflect::get(stats, &field.into())
        .ok()?
        .as_f64()
        .filter(|n| n.is_finite())
}
