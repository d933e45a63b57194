"""pyroute2 (Debian python3-pyroute2, run with /usr/bin/python3) on the same
workloads as vxnet. Same protocol as vxnet-workloads.cjs: one run, or
`repeat` in-process iterations after `warmup`; prints one JSON line.

Dumps go through IPRoute's documented calls (get_routes, fdb('dump')), which
return fully parsed nlmsg objects. Writes are one call per object (route('add'),
fdb('append')), each awaiting its answer, as the API does.
"""
import json
import resource
import socket
import subprocess
import sys
import time

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError


def untimed(commands):
    for argv in commands or []:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def dump_routes(options):
    with IPRoute() as ipr:
        return {'count': sum(1 for _ in ipr.get_routes(family=socket.AF_INET))}


def dump_fdb(options):
    with IPRoute() as ipr:
        return {'count': sum(1 for _ in ipr.fdb('dump'))}


def load_specs(options):
    with open(options['file']) as f:
        return json.load(f)['specs']


def create_routes(options):
    specs = load_specs(options)
    failed = []
    with IPRoute() as ipr:
        names = {}
        for i, spec in enumerate(specs):
            kwargs = {'dst': spec['dst']}
            if 'dev' in spec:
                if spec['dev'] not in names:
                    names[spec['dev']] = ipr.link_lookup(ifname=spec['dev'])[0]
                kwargs['oif'] = names[spec['dev']]
            if 'gateway' in spec:
                kwargs['gateway'] = spec['gateway']
            try:
                ipr.route('add', **kwargs)
            except NetlinkError as error:
                failed.append({'index': i, 'errno': error.code, 'message': str(error)[:200]})
    return {'count': len(specs), 'succeeded': len(specs) - len(failed), 'failed': failed}


def create_fdb(options):
    specs = load_specs(options)
    failed = []
    with IPRoute() as ipr:
        names = {}
        for i, spec in enumerate(specs):
            if spec['dev'] not in names:
                names[spec['dev']] = ipr.link_lookup(ifname=spec['dev'])[0]
            kwargs = {'ifindex': names[spec['dev']], 'lladdr': spec['mac']}
            if 'dst' in spec:
                kwargs['dst'] = spec['dst']
            try:
                ipr.fdb('append', **kwargs)
            except NetlinkError as error:
                failed.append({'index': i, 'errno': error.code, 'message': str(error)[:200]})
    return {'count': len(specs), 'succeeded': len(specs) - len(failed), 'failed': failed}


WORKLOADS = {
    'dump-routes': dump_routes,
    'stream-routes': dump_routes,
    'dump-fdb': dump_fdb,
    'create-routes': create_routes,
    'create-fdb': create_fdb,
}


def main():
    name = sys.argv[1]
    options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    work = WORKLOADS[name]
    if options.get('repeat'):
        times = []
        last = None
        warmup = options.get('warmup', 1)
        for i in range(warmup + options['repeat']):
            untimed(options.get('reset'))
            start = time.perf_counter()
            last = work(options)
            elapsed = (time.perf_counter() - start) * 1000
            if i >= warmup:
                times.append(elapsed)
        report = dict(last, times=times)
    else:
        untimed(options.get('reset'))
        start = time.perf_counter()
        report = dict(work(options), ms=(time.perf_counter() - start) * 1000)
    report['maxRssKiB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.write(json.dumps(report) + '\n')


main()
