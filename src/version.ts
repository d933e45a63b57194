/** vxnet's version, as package.json has it (a unit test keeps the two equal): written into etcd registrations. */
export const VXNET_VERSION = '0.1.0';
