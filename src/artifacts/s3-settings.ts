// How mlrun reaches an `s3://` artifact location: the same variables MLflow's S3 artifact
// repository reads (mlflow/store/artifact/s3_artifact_repo.py `_get_s3_client`,
// `get_s3_file_upload_extra_args`), read without loading the S3 client, which only s3-upload.ts does.
// Credentials are not read here: the AWS SDK's standard chain finds them (environment, shared profile, …).

export interface S3Settings {
  /** MLFLOW_S3_ENDPOINT_URL: an S3-compatible store (MinIO, Ceph, …) instead of AWS */
  endpoint: string | undefined;
  /** bucket in the path rather than the host name (MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE) */
  forcePathStyle: boolean;
  /**
   * AWS_REGION, else AWS_DEFAULT_REGION as boto3 reads it; with an endpoint and neither, us-east-1
   * (what boto3 signs with when it has none); else undefined, left to the shared profile.
   */
  region: string | undefined;
  /** false with MLFLOW_S3_IGNORE_TLS=true */
  verifyTls: boolean;
  /** MLFLOW_S3_UPLOAD_EXTRA_ARGS (boto3's ExtraArgs names are the SDK's parameter names) and the expected bucket owner */
  extraParams: Record<string, string>;
}

const ADDRESSING_STYLES = new Set(['auto', 'path', 'virtual']);

export function readS3Settings(env: NodeJS.ProcessEnv): { settings: S3Settings; problems: string[] } {
  const problems: string[] = [];
  const endpoint = env.MLFLOW_S3_ENDPOINT_URL?.trim() || undefined;
  let style = env.MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE?.trim().toLowerCase() || 'auto';
  if (!ADDRESSING_STYLES.has(style)) {
    problems.push(`MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE=${style} is not auto, path or virtual: using auto`);
    style = 'auto';
  }
  const extraParams: Record<string, string> = {};
  const owner = env.MLFLOW_S3_EXPECTED_BUCKET_OWNER?.trim();
  if (owner) extraParams.ExpectedBucketOwner = owner;
  const extra = env.MLFLOW_S3_UPLOAD_EXTRA_ARGS?.trim();
  if (extra) {
    const parsed = parseObject(extra);
    if (parsed) Object.assign(extraParams, parsed);
    else problems.push('MLFLOW_S3_UPLOAD_EXTRA_ARGS is not a JSON object of strings: ignored');
  }
  return {
    settings: {
      endpoint,
      // botocore's `auto` puts the bucket in the path for a custom endpoint and in the host for AWS.
      forcePathStyle: style === 'path' || (style === 'auto' && endpoint !== undefined),
      region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || (endpoint ? 'us-east-1' : undefined),
      verifyTls: !/^(?:true|1)$/i.test(env.MLFLOW_S3_IGNORE_TLS?.trim() ?? ''),
      extraParams,
    },
    problems,
  };
}

function parseObject(text: string): Record<string, string> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const entries = Object.entries(value);
    return entries.every(([, item]) => typeof item === 'string') ? (value as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}
