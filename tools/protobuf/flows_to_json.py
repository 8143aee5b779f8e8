#!/usr/bin/env python3
"""Reads a stream of length-prefixed FlowMessages (what `flowgate decode --format protobuf` writes,
and each Kafka message with kafka.format protobuf holds one of) with Google's protobuf runtime and
the .proto given, and prints each message as one JSON object (proto field names; bytes fields as
addresses when they are 4 or 16 bytes long, else hex; enums by name; zero fields left out as
proto3 does). An independent reader of FlowGate's Protobuf output for the tests.

  flows_to_json.py assembly/flow.proto < records.bin > records.jsonl

Needs protoc (Debian protobuf-compiler) and the protobuf package (pip; .ci/run installs both).
"""
import importlib
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

from google.protobuf.internal.decoder import _DecodeVarint32


def load_message_class(proto_path):
    out = tempfile.mkdtemp(prefix="flowpb-")
    folder, name = os.path.split(os.path.abspath(proto_path))
    subprocess.run(["protoc", f"--python_out={out}", f"-I{folder}", name], check=True)
    sys.path.insert(0, out)
    module = importlib.import_module(name[: -len(".proto")] + "_pb2")
    return module.FlowMessage


def as_json(message):
    out = {}
    for field, value in message.ListFields():
        if field.type == field.TYPE_BYTES:
            if field.label == field.LABEL_REPEATED:
                continue
            out[field.name] = str(ipaddress.ip_address(value)) if len(value) in (4, 16) else value.hex()
        elif field.type == field.TYPE_ENUM:
            out[field.name] = field.enum_type.values_by_number[value].name
        elif field.label == field.LABEL_REPEATED:
            out[field.name] = list(value)
        else:
            out[field.name] = value
    return out


def main():
    FlowMessage = load_message_class(sys.argv[1])
    data = sys.stdin.buffer.read()
    pos = 0
    while pos < len(data):
        length, pos = _DecodeVarint32(data, pos)
        message = FlowMessage()
        message.ParseFromString(data[pos : pos + length])
        pos += length
        sys.stdout.write(json.dumps(as_json(message)) + "\n")


if __name__ == "__main__":
    main()
