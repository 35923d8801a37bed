// The older Node plugin's vote counting, as a benchmark baseline for bench_vote_core.py.
//
//   node tests/bench/plugin_vote_loop.mjs STREAM.jsonl [REPEATS] [CHOICES]
//
// The logic of its utils/voting-system.js as wired by its main.js chat handler, written out
// here from its description (REFERENCE.md §1, issue 23): every chat event's comment is
// lower-cased and trimmed; a text that is exactly "!" plus one letter goes to the vote
// handler, which matches it again (case-insensitive), turns the letter into a choice index,
// refuses an index the round lacks, and keeps ONE ballot per user id in a Map (the last one
// counts: a change moves one count from the old choice to the new one). Every accepted vote
// builds its update payload and a debug line, as the plugin does; the socket emit and the
// logger are no-ops here (the plugin's "vote handler alone" figure), and the early-end check
// is off (the plugin's default).
//
// Input: one JSON array of chat events per line ({userId, uniqueId, nickname, comment,
// msgId}); each line is parsed (untimed) right before it is counted, so every string is
// fresh, as off the wire. The timed part is the handler over the parsed batch. Prints one
// JSON line: {"messages", "seconds", "rate", "voters", "counts"} of the best of REPEATS passes
// (the first passes let the JIT warm up). Seconds are CPU time of this process in the timed
// part (process.cpuUsage, user + system): on a shared machine wall time would count other
// processes' work too; bench_vote_core.py measures storyd the same way.
import { readFileSync } from "node:fs";

class PluginVoting {
  constructor(nChoices) {
    this.active = true;
    this.choices = Array.from({ length: nChoices }, (_, i) => `choice ${i + 1}`);
    this.votes = new Map();                 // user id -> choice index
    this.voteCounts = new Array(nChoices).fill(0);
    this.settings = { useMinSwing: false, minVotes: 5, swingThreshold: 10 };
    this.emitted = 0;
  }

  emit(_name, _payload) { this.emitted++; }  // socket.io stand-in
  debug(_line) {}                           // logger stand-in

  // main.js: the TikTok "chat" handler
  onChat(data) {
    if (!this.active) return;
    const message = data.comment.toLowerCase().trim();
    if (/^![a-z]$/.test(message)) this.processVote(data.uniqueId, data.nickname, message);
  }

  // voting-system.js: processVote(userId, username, voteCommand)
  processVote(userId, username, command) {
    if (!this.active) return false;
    const match = command.match(/^!([a-z])$/i);
    if (!match) return false;
    const letter = match[1].toLowerCase();
    const index = letter.charCodeAt(0) - 97;
    if (index < 0 || index >= this.choices.length) {
      this.debug(`Invalid vote from ${username}: !${letter} (out of range)`);
      return false;
    }
    const previous = this.votes.get(userId);
    if (previous !== undefined) this.voteCounts[previous]--;
    this.votes.set(userId, index);
    this.voteCounts[index]++;
    this.debug(`Vote recorded: ${username} -> !${letter} (Choice ${index})`);
    this.emit("story:vote-update", {
      voteCounts: this.voteCounts, totalVotes: this.votes.size, choices: this.choices,
    });
    this.checkEarlyEnd();
    return true;
  }

  checkEarlyEnd() {
    if (!this.settings.useMinSwing) return;
  }
}

const [path, repeatsArg, choicesArg] = process.argv.slice(2);
const repeats = Number(repeatsArg ?? 3);
const nChoices = Number(choicesArg ?? 4);
const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0);
let best = Infinity;
let voting = null;
let messages = 0;
for (let r = 0; r < repeats; r++) {
  voting = new PluginVoting(nChoices);
  let spent = 0;
  messages = 0;
  for (const line of lines) {
    const batch = JSON.parse(line);          // untimed: fresh strings, as off the wire
    const t0 = process.cpuUsage();
    for (let i = 0; i < batch.length; i++) voting.onChat(batch[i]);
    const used = process.cpuUsage(t0);
    spent += used.user + used.system;
    messages += batch.length;
  }
  best = Math.min(best, spent / 1e6);
}
console.log(JSON.stringify({
  messages, seconds: best, rate: messages / best, voters: voting.votes.size,
  counts: voting.voteCounts,
}));
