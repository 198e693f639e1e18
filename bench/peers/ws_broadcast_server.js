// A broadcast-room WebSocket server on Node's `ws` (the peer parley-bench
// --raw measures): every text frame sent to ws://host:PORT/ROOM goes to every
// member of ROOM, the sender included. No auth, no storage.
//   node bench/peers/ws_broadcast_server.js [port]
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 9001);
const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });

wss.on('connection', (socket, request) => {
  const room = request.url;
  if (!rooms.has(room)) rooms.set(room, new Set());
  const members = rooms.get(room);
  members.add(socket);
  socket.on('message', (data, isBinary) => {
    for (const member of members) {
      if (member.readyState === 1) member.send(data, { binary: isBinary });
    }
  });
  socket.on('close', () => members.delete(socket));
});

wss.on('listening', () => console.log(`ws broadcast peer on 127.0.0.1:${port}`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
