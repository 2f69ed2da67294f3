//! AWS error codes as sentences a user can act on (seed 001 §11.5.1).

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::cloud::CloudError;

/// Turn an SDK error into a `CloudError` with what to do about it.
pub fn api_error<E, R>(operation: &str, err: SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(&err).to_string());
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return CloudError::Api {
                operation: operation.to_string(),
                code: "Unreachable".into(),
                message: format!("could not reach AWS: {message}"),
                hint: Some(
                    "Check the network, the region, and AWS_ENDPOINT_URL if you set it".into(),
                ),
            };
        }
        SdkError::ConstructionFailure(_) => {
            return CloudError::Api {
                operation: operation.to_string(),
                code: "Credentials".into(),
                message,
                hint: Some(NO_CREDENTIALS_HINT.into()),
            };
        }
        _ => {}
    }
    classify(operation, &code, message)
}

pub const NO_CREDENTIALS_HINT: &str = "Configure credentials (`aws configure`, `aws sso login`, or AWS_PROFILE), or try the sandbox: geusemaker-tui --sandbox";

pub fn classify(operation: &str, code: &str, message: String) -> CloudError {
    let hint = match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled" => {
            return CloudError::Throttled {
                operation: operation.to_string(),
            };
        }
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => {
            "Missing AWS permissions: the identity needs EC2, EFS, IAM, SSM and STS access, plus Elastic Load Balancing (automation, gpu) and CloudFront and Service Quotas (gpu); see README, \"AWS permissions\""
        }
        "AuthFailure"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch" => {
            "The AWS credentials were refused: check them with `aws sts get-caller-identity`"
        }
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "The AWS session has expired: run `aws sso login` (or refresh your credentials) and retry"
        }
        "OptInRequired" => {
            "This region is not enabled for the account: enable it in the AWS console or pick another --region"
        }
        "VcpuLimitExceeded" | "MaxSpotInstanceCountExceeded" => {
            "The account's vCPU quota for this instance family is too low: request an increase in Service Quotas, or use a smaller type"
        }
        "CertificateNotFound" => {
            "The --certificate-arn is not in ACM in the stack's region (an ALB needs one there): check it with `aws acm list-certificates --region REGION`"
        }
        "InsufficientInstanceCapacity" => {
            "AWS has no capacity for this type here right now: another zone, another type, or --on-demand"
        }
        "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "ValidationError"
        | "ValidationException" => "The request was invalid; nothing was created by it",
        "DependencyViolation" => {
            "Something still uses this resource; it is retried once that is gone"
        }
        _ => "",
    };
    CloudError::Api {
        operation: operation.to_string(),
        code: code.to_string(),
        message,
        hint: (!hint.is_empty()).then(|| hint.to_string()),
    }
}

/// The error code of a `CloudError::Api`, for callers that handle one case.
pub fn code_of(err: &CloudError) -> Option<&str> {
    match err {
        CloudError::Api { code, .. } => Some(code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retryable_and_permissions_say_what_is_missing() {
        assert!(
            classify("RunInstances", "RequestLimitExceeded", "slow down".into()).is_retryable()
        );
        let e = classify("RunInstances", "UnauthorizedOperation", "no".into());
        assert!(
            e.to_string().contains("needs EC2, EFS, IAM, SSM and STS"),
            "{e}"
        );
        let e = classify("CreateRole", "ExpiredToken", "expired".into());
        assert!(e.to_string().contains("aws sso login"), "{e}");
        let e = classify("X", "SomethingElse", "odd".into());
        assert_eq!(e.to_string(), "X failed: odd");
    }
}
