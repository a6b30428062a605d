// A voice call from a plain page with the WebCall JavaScript SDK: log in, call or answer, talk,
// hang up. Every event the SDK reports is listed under "Events".

import { WebCall } from '../sdk/webcall.js';

const $ = (id) => document.getElementById(id);
const setStatus = (text) => { $('status').textContent = text; };

let webcall = null;   // Created at the first login, with the app ID the server uses.
let peer = '';        // Whom the call is with.
let muted = false;

// The texts of #status for the events that change it.
const STATUS = {
  SDK_READY: ({ userID }) => `logged in as ${userID}`,
  INVITED: ({ sponsor }) => `${sponsor} is calling`,
  USER_ACCEPT: ({ userID }) => `in call with ${userID}`,
  USER_ENTER: ({ userID }) => `in call with ${userID}`,
  REJECT: ({ userID }) => `${userID} rejected the call`,
  LINE_BUSY: ({ userID }) => `${userID} is busy`,
  NO_RESP: ({ userID }) => `${userID} did not answer`,
  CALLING_CANCEL: ({ sponsor }) => `missed call from ${sponsor}`,
  CALLING_TIMEOUT: ({ sponsor }) => `missed call from ${sponsor}`,
  ANSWERED_ELSEWHERE: () => 'answered on another device',
  CALL_END: () => 'call ended',
  LOGGED_OUT: () => 'logged out',
  ERROR: ({ code, message }) => `failed: ${message} (${code})`,
};

function onEvent(name, payload) {
  const item = document.createElement('li');
  item.textContent = `${name} ${JSON.stringify(payload)}`;
  $('log').append(item);
  if (name === 'INVITED') peer = payload.sponsor;
  if (STATUS[name]) setStatus(STATUS[name](payload));
  updateButtons();
}

// Which buttons work follows where the call stands.
function updateButtons() {
  const state = webcall ? webcall.callState.state : 'idle';
  const loggedIn = Boolean(webcall && webcall.userID);
  $('log-in').disabled = loggedIn;
  $('call').disabled = !loggedIn || state !== 'idle';
  $('accept').disabled = state !== 'incoming';
  $('reject').disabled = state !== 'incoming';
  $('hang-up').disabled = !['dialing', 'incoming', 'connecting', 'in-call'].includes(state);
  $('mute').disabled = state !== 'in-call';
  if (state === 'idle' && muted) setMuted(false);
}

function setMuted(value) {
  muted = value;
  $('mute').textContent = muted ? 'Unmute' : 'Mute';
  $('mute').setAttribute('aria-pressed', String(muted));
}

// Runs a button's action; a refusal (a WebCallError: code and message) shows in #status.
const action = (run) => async () => {
  try {
    await run();
  } catch (error) {
    setStatus(`failed: ${error.message} (${error.code ?? 'no code'})`);
  }
  updateButtons();
};

$('log-in').addEventListener('click', action(async () => {
  const userID = $('user-id').value.trim();
  // 1. A UserSig from the server's development endpoint. A real app gets it from its own
  //    backend, which signs it with the server's secret key.
  const response = await fetch(`/api/usersig?user_id=${encodeURIComponent(userID)}`);
  const answer = await response.json();
  if (!response.ok) throw answer;   // { code, message }
  // 2. The calling object; without `server`, it calls through this page's server.
  if (!webcall) {
    webcall = new WebCall({ appId: answer.sdk_app_id });
    for (const name of Object.values(WebCall.EVENT)) {
      webcall.on(name, (payload) => onEvent(name, payload));
    }
  }
  // 3. Log in; resolves on SDK_READY.
  await webcall.login({ userID, userSig: answer.user_sig });
}));

// 4. Call, answer, hang up.
$('call').addEventListener('click', action(async () => {
  peer = $('callee').value.trim();
  setStatus(`calling ${peer}`);
  await webcall.call({ userID: peer, type: WebCall.CALL_TYPE.AUDIO });
}));

$('accept').addEventListener('click', action(async () => {
  await webcall.accept();
  setStatus(`in call with ${peer}`);
}));

// Ending a call this side reports no event for the call placed or rung here: say it here.
const endCall = (end) => action(async () => {
  await end();
  setStatus('call ended');
});
$('reject').addEventListener('click', endCall(() => webcall.reject()));
$('hang-up').addEventListener('click', endCall(() => webcall.hangup()));
$('mute').addEventListener('click', action(async () => {
  await webcall.setMicMute(!muted);
  setMuted(!muted);
}));
