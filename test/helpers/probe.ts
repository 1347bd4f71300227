// Reachability probes run inside a test namespace: does a TCP connect or a DNS query get an
// answer within a bound? A negative answer means nothing came back before the bound, so every
// test that expects "unreachable" also shows the same probe succeeding where it should.
import { inNs } from "./netns.js";

const TCP = `const [h,p,t]=process.argv.slice(1);const s=require("net").connect({host:h,port:+p});
s.on("connect",()=>{console.log("open");process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)});
setTimeout(()=>{console.log("timeout");process.exit(0)},+t)`;

const DNS = `const [server,name,t]=process.argv.slice(1);const s=require("dgram").createSocket("udp4");
const q=Buffer.concat([Buffer.from([0x12,0x34,1,0,0,1,0,0,0,0,0,0]),...name.split(".").map(l=>Buffer.concat([Buffer.from([l.length]),Buffer.from(l)])),Buffer.from([0,0,1,0,1])]);
s.on("message",()=>{console.log("answer");process.exit(0)});s.send(q,53,server);
setTimeout(()=>{console.log("timeout");process.exit(0)},+t)`;

/** "open", "timeout", or the connect error code (ECONNREFUSED, EHOSTUNREACH, ...). */
export async function tcpProbe(ns: string, host: string, port: number, timeoutMs = 3000): Promise<string> {
  const r = await inNs(ns, [process.execPath, "-e", TCP, host, String(port), String(timeoutMs)]);
  return String(r.stdout).trim();
}

/** "answer" when the server sent any reply to an A query, else "timeout". */
export async function dnsProbe(ns: string, server: string, name: string, timeoutMs = 3000): Promise<string> {
  const r = await inNs(ns, [process.execPath, "-e", DNS, server, name, String(timeoutMs)]);
  return String(r.stdout).trim();
}
