// The admin page's live connection: the one place that knows the shared socket module
// (overlay/socket.js: connect(url, {onEvent, onState}) with reconnect, dead-socket detection
// and exactly one ping timer per client, so nothing piles up across reconnects).
import { connect } from "/overlay/socket.js";

/** Open /ws/admin; onEvent gets every {event, data}, onState "connecting" | "open" | "down". */
export function openAdminSocket({ onEvent, onState }) {
  return connect("/ws/admin", { onEvent, onState });
}
