// The parts of the AWS SDK that s3-upload.ts uses. scripts/bundle.ts bundles this module apart
// (build/mlrun-s3.cjs, an asset of the executable): it is larger than the rest of mlrun, and would
// make every start-up load it for the few runs whose artifacts go to S3.
export {
  AbortMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
export { Upload } from '@aws-sdk/lib-storage';
