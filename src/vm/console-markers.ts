// Lines a guest prints on its serial console that say how far it has come: LAB-READY for the
// lab-test guest (once it has its DHCP lease), and on guests that run units the end of the host
// key report of the role's lab-hostkeys.service (cloud-config/include/lab-hostkeys.sh).
export const READY_MARKER = "LAB-READY {";
/** The image whose guests print READY_MARKER. */
export const READY_GUEST = "lab-test";
/** Printed by cloud-config/include/lab-hostkeys.sh after the LAB-SSH-HOSTKEY lines of a boot. */
export const HOSTKEYS_MARKER = "LAB-SSH-HOSTKEYS-DONE";
