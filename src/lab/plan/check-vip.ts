// The API servers' virtual IP (networks[].cluster.apiVip) is an address like a machine's fixed
// one: a host address of the subnet, not the gateway, outside the DHCP range, held by nobody
// else; and it needs machines of role lb to hold it and of role kubernetes to serve behind it. Pure.

import type { FieldProblem } from "../../field-problems.js";
import { ipToInt, isHostAddress } from "../../net/cidr.js";
import type { Reservation } from "../../net/dnsmasq-config.js";
import type { DesiredMachine, DesiredNetwork } from "../file/desired.js";
import type { Addressing } from "./ips.js";

export const LB_ROLE = "lb";
export const API_SERVER_ROLE = "kubernetes";

export function checkApiVip(
  net: DesiredNetwork,
  addr: Addressing,
  machines: DesiredMachine[],
  reservations: Reservation[],
): FieldProblem[] {
  const vip = net.cluster?.apiVip;
  if (vip === undefined) {
    const lb = machines.find((m) => m.role === LB_ROLE);
    return lb
      ? [
          {
            path: lb.field,
            message: `role ${LB_ROLE} needs ${net.field}.cluster.apiVip: the address it holds`,
          },
        ]
      : [];
  }
  const path = `${net.field}.cluster.apiVip`;
  const ip = ipToInt(vip);
  const out: FieldProblem[] = [];
  if (!isHostAddress(addr.subnet, ip))
    out.push({ path, message: `${vip} is not a host address in ${net.field}.subnet ${addr.subnet.text}` });
  else if (ip === ipToInt(addr.gateway)) out.push({ path, message: `${vip} is the gateway of ${net.name}` });
  else if (ip >= ipToInt(addr.dhcpStart) && ip <= ipToInt(addr.dhcpEnd))
    out.push({
      path,
      message: `${vip} is inside the DHCP range ${addr.dhcpStart}-${addr.dhcpEnd} of ${net.name}`,
    });
  const fixed = machines.find((m) => m.ip === vip);
  if (fixed) out.push({ path, message: `${vip} is also the fixed ip of ${fixed.name} (${fixed.field}.ip)` });
  const held = reservations.find((r) => r.ip === vip);
  if (held && !fixed)
    out.push({
      path,
      message: `${vip} is reserved for ${held.name} (hint: 'lab vm destroy ${held.name} --forget' releases it)`,
    });
  if (!machines.some((m) => m.role === LB_ROLE))
    out.push({ path, message: `no machine of role ${LB_ROLE} on ${net.name} to hold ${vip}` });
  if (!machines.some((m) => m.role === API_SERVER_ROLE))
    out.push({
      path,
      message: `no machine of role ${API_SERVER_ROLE} on ${net.name} to serve behind ${vip}`,
    });
  return out;
}
