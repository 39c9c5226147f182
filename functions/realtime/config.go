package realtime

// DefaultICEServers is what the mains serve when ICE_SERVERS is unset: one public STUN server, enough
// for peers that are not both behind symmetric NATs. Production sets ICE_SERVERS (its own STUN/TURN)
// and TURN_SECRET. The mains read the settings into Config (functions/cmd/internal/wire).
const DefaultICEServers = "stun:stun.l.google.com:19302"
