/**
 * The route protocol (rtm_protocol) vxnet tags its routes with. The kernel
 * does not interpret values above RTPROT_STATIC (4); it keeps them on the
 * route and lets a dump, and a delete, filter on them. So vxnet lists "its"
 * routes as exactly those carrying this number, and deletes them with the
 * protocol in the request: a route someone else made for the same prefix
 * (protocol boot from `ip route add`, static, zebra, bird, ...) never matches.
 *
 * 118 ('v') is not assigned in the kernel's uapi (include/uapi/linux/
 * rtnetlink.h: 0–4, 8–18, 42, 99, 186–192) nor in iproute2's rt_protos.
 * `ip route` prints it as "proto 118"; to see a name, add the line
 * `118 vxnet` to /etc/iproute2/rt_protos.d/vxnet.conf.
 */
export const RTPROT_VXNET = 118;

/** The name iproute2 prints for it with the rt_protos.d line above, else the number. */
export const RTPROT_VXNET_NAME = 'vxnet';
