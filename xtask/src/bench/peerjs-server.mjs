// The PeerJS server `cargo xtask bench` compares WebCall with: PeerJS (npm package `peer`) as
// an application starts it, with `PeerServer`, on 127.0.0.1:<port> (the first argument), and
// with the one limit that would refuse the bench's load raised: `concurrent_limit` (5,000 by
// default; the bench holds up to 19,900 connections). Everything else stays at PeerJS's
// defaults (no per-message limit exists; heartbeats expected within `alive_timeout`, 90 s).
//
// xtask copies this file next to the installed package (`.tools/peerjs/`) so that `peer`
// resolves, and runs it with `node`. It prints `listening <port>` once it accepts connections,
// and logs only errors, as a production server would (no per-connection logs).
import { PeerServer } from "peer";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
	console.error("usage: node peerjs-server.mjs <port>");
	process.exit(2);
}

// As PeerJS's own command line does: a failing socket must not end the server.
process.on("uncaughtException", (e) => console.error(`uncaught: ${e}`));

const peer = PeerServer(
	{
		host: "127.0.0.1",
		port,
		path: "/",
		key: "peerjs",
		concurrent_limit: 1_000_000,
	},
	() => console.log(`listening ${port}`),
);
peer.on("error", (e) => console.error(`error: ${e}`));
