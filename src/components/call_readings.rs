//! The live readings of the call on `/in-call`: a volume meter for each side and the network
//! quality as five bars, with the numbers of both directions on hover or keyboard focus.
//!
//! Its own component because the readings change several times a second (see `live`): only
//! this part of the page re-renders. The meters move with `transform`, which needs no layout,
//! and every reading keeps its size, so nothing around it moves.

use webcall_client::{NetworkQuality, Quality};
use yew::prelude::*;

use crate::live::{use_quality, use_volumes};
use crate::strings::{t, Strings};

#[derive(Properties, PartialEq)]
pub struct CallReadingsProps {
    /// The other party.
    pub peer: AttrValue,
}

#[function_component]
pub fn CallReadings(props: &CallReadingsProps) -> Html {
    let (local, remote) = use_volumes();
    let quality = use_quality();
    let t = t();
    html! {
        <div class="readings">
            { meter("local-volume", t.mic_level, local) }
            { meter("remote-volume", &(t.peer_level)(&props.peer), remote) }
            { indicator(t, quality.as_ref()) }
        </div>
    }
}

/// A volume, 0–100, as a bar.
fn meter(id: &'static str, label: &str, level: u8) -> Html {
    // Integer formatting: float formatting would cost the first load kilobytes.
    let scale = match level {
        100.. => "transform:scaleX(1)".to_owned(),
        level => format!("transform:scaleX(0.{level:02})"),
    };
    html! {
        <div class="meter">
            <span class="meter-label">{ label }</span>
            <span {id} class="meter-track" role="meter" aria-label={label.to_owned()}
                aria-valuemin="0" aria-valuemax="100" aria-valuenow={level.to_string()}>
                <span class="meter-fill" style={scale}></span>
            </span>
        </div>
    }
}

/// The quality bars (the worse direction) and the numbers of both.
fn indicator(t: &Strings, quality: Option<&NetworkQuality>) -> Html {
    let level = quality.map_or(0, |q| q.sending.level.min(q.receiving.level));
    let summary = format!("{}: {}", t.network_quality, level_name(t, level));
    let row = |name: &str, q: Option<&Quality>| {
        html! {
            <tr>
                <th scope="row">{ name }</th>
                <td>{ level_name(t, q.map_or(0, |q| q.level)) }</td>
                <td>{ number(q.and_then(|q| q.rtt_ms), " ms") }</td>
                <td>{ number(q.and_then(|q| q.jitter_ms), " ms") }</td>
                <td>{ loss(q.and_then(|q| q.loss_permille)) }</td>
            </tr>
        }
    };
    html! {
        <div id="network-quality" class="quality" tabindex="0" data-level={level.to_string()}
            aria-label={summary.clone()} aria-describedby="quality-details">
            <span class="bars" aria-hidden="true">
                { for (1..=5u8).map(|bar| html! {
                    <span class={classes!("bar", (bar <= level).then_some("on"))}></span>
                }) }
            </span>
            <table id="quality-details" class="quality-details" role="tooltip">
                <caption>{ summary }</caption>
                <tr>
                    <td></td>
                    <th scope="col">{ t.network_quality }</th>
                    <th scope="col">{ t.round_trip }</th>
                    <th scope="col">{ t.jitter }</th>
                    <th scope="col">{ t.packet_loss }</th>
                </tr>
                { row(t.sending, quality.map(|q| &q.sending)) }
                { row(t.receiving, quality.map(|q| &q.receiving)) }
            </table>
        </div>
    }
}

fn level_name(t: &Strings, level: u8) -> &'static str {
    match level {
        1 => t.quality_bad,
        2 => t.quality_poor,
        3 => t.quality_fair,
        4 => t.quality_good,
        5 => t.quality_excellent,
        _ => t.quality_unknown,
    }
}

fn number(value: Option<u32>, unit: &str) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v}{unit}"))
}

fn loss(permille: Option<u32>) -> String {
    permille.map_or_else(|| "–".to_owned(), |p| format!("{}.{} %", p / 10, p % 10))
}
