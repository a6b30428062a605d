// TypeScript declarations of the WebCall JavaScript API (the package entry, webcall.js).

/** A microphone or speaker. */
export interface DeviceInfo {
  deviceId: string;
  /** Empty until the page was allowed the microphone once. */
  label: string;
}

/** One direction's audio quality over the last second. */
export interface Quality {
  /** 5 excellent, 4 good, 3 fair, 2 poor, 1 bad, 0 unknown. */
  level: number;
  rttMs: number | null;
  jitterMs: number | null;
  /** Packets lost, in thousandths (15 = 1.5 %). */
  lossPermille: number | null;
}

/** The payload each event's handler receives. */
export interface WebCallEventMap {
  /** Logged in. */
  SDK_READY: { userID: string };
  /** Someone calls this user. */
  INVITED: {
    sponsor: string;
    userIDList: string[];
    isFromGroup: false;
    inviteID: string;
    inviteData: { callType: number; timeout: number };
  };
  USER_ACCEPT: { userID: string };
  /** The other party's audio is connected. */
  USER_ENTER: { userID: string };
  USER_LEAVE: { userID: string };
  REJECT: { userID: string };
  NO_RESP: {
    userID: string;
    reason: 'timeout' | 'offline' | 'unreachable';
    /** Why, for `'unreachable'`; otherwise `null`. */
    message: string | null;
  };
  LINE_BUSY: { userID: string };
  CALLING_CANCEL: { sponsor: string; inviteID: string; callerDisconnected: boolean };
  CALLING_TIMEOUT: { sponsor: string; inviteID: string };
  /** An accepted call is over; `duration` in seconds. */
  CALL_END: { inviteID: string; duration: number; endedBy: string | null; failure: string | null };
  KICKED_OUT: Record<string, never>;
  ERROR: { code: number; message: string };
  USER_AUDIO_AVAILABLE: { userID: string; isAudioAvailable: boolean };
  /** 0–100. */
  USER_VOICE_VOLUME: { local: number; remote: number };
  NETWORK_QUALITY: { sending: Quality; receiving: Quality };
  /** (sic: TRTCCalling's spelling) */
  DEVICED_UPDATED: { microphoneList: DeviceInfo[]; speakerList: DeviceInfo[] };
  LOGGED_OUT: { reason: string | null };
  /** The call placed rings on `devices` of the callee's devices (0: offline, it waits). */
  RINGING: { userID: string; devices: number };
  ANSWERED_ELSEWHERE: { sponsor: string; inviteID: string };
  REJECTED_ELSEWHERE: { sponsor: string; inviteID: string };
  IN_CALL_ELSEWHERE: { inviteID: string; userID: string };
  IN_CALL_ELSEWHERE_ENDED: { inviteID: string };
  PRESENCE_CHANGED: { userID: string; online: boolean };
  /** Seconds. */
  SESSION_EXPIRING: { expiresIn: number };
  SESSION_RENEWED: { expiresIn: number };
  VERIFICATION_CODE: { inviteID: string; code: string };
  RECONNECTING: { attempt: number; retryInMs: number };
  RECONNECTED: { resumed: boolean };
  AUDIO_INTERRUPTED: { inviteID: string };
  AUDIO_RESTORED: { inviteID: string };
}

export type WebCallEventName = keyof WebCallEventMap;

/** `new WebCall(options)`. */
export interface WebCallOptions {
  /** Your application's ID; the server checks UserSigs against it. */
  appId?: number;
  /** TRTCCalling's name of `appId`. */
  SDKAppID?: number;
  /**
   * The signaling server: a `ws(s)://` URL of its socket, or an `http(s)://` origin (its `/ws`).
   * Left out: the page's own origin.
   */
  server?: string;
}

/** `webcall.callState`. */
export type CallState =
  | { state: 'idle' }
  | { state: 'dialing'; userID: string; ringing: number | null }
  | { state: 'incoming'; sponsor: string; inviteID: string }
  | { state: 'connecting'; userID: string; inviteID: string }
  | {
      state: 'in-call';
      userID: string;
      inviteID: string;
      /** When the call was accepted, `performance.now()` time in ms. */
      since: number;
      connected: boolean;
      interrupted: boolean;
      muted: boolean;
      peerMuted: boolean;
      verificationCode: string | null;
    }
  | { state: 'elsewhere'; userID: string; inviteID: string };

/** What every rejected promise and thrown exception is. */
export declare class WebCallError extends Error {
  constructor(code: number, message: string);
  readonly name: 'WebCallError';
  readonly code: number;
}

export declare class WebCall {
  /** @throws {WebCallError} 60060 for options it can not use. */
  constructor(options: WebCallOptions);

  /** Every event name; each value equals its key. */
  static readonly EVENT: Readonly<{ [K in WebCallEventName]: K }>;
  static readonly CALL_TYPE: Readonly<{ AUDIO: 1; VIDEO: 2 }>;

  on<E extends WebCallEventName, C = undefined>(
    event: E,
    handler: (this: C, payload: WebCallEventMap[E]) => void,
    context?: C,
  ): void;
  off<E extends WebCallEventName>(
    event: E,
    handler?: (payload: WebCallEventMap[E]) => void,
    context?: unknown,
  ): void;

  /** Resolves once logged in (`SDK_READY`). */
  login(params: { userID: string; userSig: string }): Promise<void>;
  logout(): Promise<void>;
  /** Resolves once the call rings (`RINGING`) or has its outcome. `timeout` in seconds. */
  call(params: { userID: string; type?: 1 | 2; timeout?: number }): Promise<void>;
  /** TRTCCalling's argument is accepted and ignored. */
  accept(params?: { inviteID?: string; roomID?: number; callType?: number }): Promise<void>;
  /** TRTCCalling's argument is accepted and ignored. */
  reject(params?: { inviteID?: string; isBusy?: boolean; callType?: number }): Promise<void>;
  hangup(): Promise<void>;
  setMicMute(mute: boolean): Promise<void>;
  getMicrophoneList(): Promise<DeviceInfo[]>;
  /** Empty where the browser can not choose the speaker. */
  getSpeakerList(): Promise<DeviceInfo[]>;
  /** An empty `deviceId` is the browser's default. */
  switchDevice(params: { deviceType: 'audioInput' | 'audioOutput'; deviceId: string }): Promise<void>;
  /** Reports these users' presence as `PRESENCE_CHANGED`. @throws {WebCallError} */
  watchPresence(userIDs: string[]): void;
  /** Extends the session with a fresh UserSig (`SESSION_RENEWED`). @throws {WebCallError} */
  renew(userSig: string): void;

  readonly callState: CallState;
  /** The logged-in user, or `null`. */
  readonly userID: string | null;

  /** Logs out and frees everything; safe to call twice. */
  destroy(): void;
}

export default WebCall;
