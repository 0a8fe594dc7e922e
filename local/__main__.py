"""Command line for local mode.

python -m local serve [--outdir cdk.out]   run until Ctrl-C (make local)
python -m local demo  [--outdir cdk.out]   run the lifecycle once and report (make demo)
python -m local dataset NAME FILE          write a real data set (scikit-learn's, penguins, flights) as a CSV
                                           (breast_cancer, wine, diabetes: columns as published)
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from local.platform import API_PORT, AWS_PORT, DEFAULT_HOST, LocalPlatform

LOOPBACK_ADDRESSES = {"127.0.0.1", "localhost", "::1"}

DEFAULT_STACK = "MlopsPlatform"


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["dataset"]:
        return write_dataset(arguments[1:])
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["serve", "demo"])
    parser.add_argument("--outdir", type=Path, default=Path("cdk.out"), help="the synthesized cloud assembly")
    parser.add_argument("--stack", default=DEFAULT_STACK)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--aws-port", type=int, default=AWS_PORT)
    parser.add_argument("--api-port", type=int, default=API_PORT)
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on a non-loopback --host: anyone who reaches it may call the API as the account's root",
    )
    args = parser.parse_args(arguments)
    if args.host not in LOOPBACK_ADDRESSES and not args.allow_remote:
        parser.error(
            f"--host {args.host} is reachable from other machines, and local mode signs its console and controls as the"
            " account's root: pass --allow-remote to do it anyway"
        )
    platform = LocalPlatform(args.outdir, args.stack, args.host, args.aws_port, args.api_port, any_host=args.allow_remote)
    try:
        platform.start()
        if args.command == "demo":
            from local.demo import run_demo

            return run_demo(platform)
        return serve(platform)
    finally:
        platform.stop()


def write_dataset(argv: list[str]) -> int:
    from local.real_data import DATASETS, PUBLISHED_FILES, TARGET, published, published_file

    parser = argparse.ArgumentParser(prog="python -m local dataset", description="Writes a real data set as a CSV with its header.")
    parser.add_argument("name", choices=[*DATASETS, *PUBLISHED_FILES])
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.name in PUBLISHED_FILES:
        args.file.write_bytes(published_file(args.name))
        _, _, target, task = PUBLISHED_FILES[args.name]
        print(f"{args.file}: as its package publishes it; target column {target!r} ({task})")
        return 0
    data = published(args.name)
    args.file.write_bytes(data.csv())
    print(f"{args.file}: {len(data.rows)} rows, {len(data.features)} features, target column {TARGET!r} ({data.task})")
    return 0


def serve(platform: LocalPlatform) -> int:
    assert platform.deployment is not None
    print(f"Deployed {platform.stack_name} locally in {platform.deploy_seconds:.1f} s", flush=True)
    print(f"  AWS endpoint   {platform.endpoint_url}   (aws --endpoint-url {platform.endpoint_url} ...)")
    sign = "--aws-sigv4 aws:amz:us-east-1:execute-api --user local:local"  # IAM-authorized, as in AWS
    print(f"  REST API       {platform.api_url}        (curl {sign} {platform.api_url}/health)")
    print(f"  Console        {platform.api_url}/console/   (mlops --help for the command line)")
    for name, value in sorted(platform.outputs.items()):
        print(f"  {name:24} {value}")
    print("Ctrl-C stops.", flush=True)
    stopped = threading.Event()
    # Ctrl-C and SIGTERM both end the loop below, then main() stops the platform and its workers.
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        pass
    print("Stopping local mode.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
