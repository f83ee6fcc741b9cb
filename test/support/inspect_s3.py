"""Prints as JSON what an S3 API (moto's, on loopback) holds, read with boto3.

argv: endpoint URL, JSON query (see s3.ts). Credentials and region come from the environment.
"""
import hashlib
import json
import sys

import boto3
from botocore.config import Config


def main():
    endpoint, query = sys.argv[1], json.loads(sys.argv[2])
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    bucket = query["bucket"]
    answer = {}
    if query.get("create"):
        s3.create_bucket(Bucket=bucket)
    if "prefix" in query:
        objects = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=query["prefix"]):
            for item in page.get("Contents", []):
                objects[item["Key"]] = {"size": item["Size"], "etag": item["ETag"].strip('"')}
        answer["objects"] = objects
    if "sha256" in query:
        digests = {}
        for key in query["sha256"]:
            digest = hashlib.sha256()
            for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(8 * 1024 * 1024):
                digest.update(chunk)
            digests[key] = digest.hexdigest()
        answer["sha256"] = digests
    if query.get("uploads"):
        listed = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        answer["uploads"] = [{"key": item["Key"], "upload_id": item["UploadId"]} for item in listed]
    print(json.dumps(answer))


main()
