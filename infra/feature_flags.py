"""The CDK feature flags this app sets, each with why, and the ones of a new app's defaults that do
not apply here, each with why not (tests/infra/test_feature_flags.py holds the two lists against
the recommended flags aws-cdk-lib ships, so an upgrade that adds one fails until it is decided).

A flag changes what a construct synthesizes; a new app (`cdk init`) gets the recommended values in
cdk.json. build_app puts these into the app's context, so `cdk synth`, the tests and local mode all
synthesize with them.
"""

from __future__ import annotations

from typing import Any

# flag -> (value, why it applies to this stack)
APPLIED: dict[str, tuple[Any, str]] = {
    "@aws-cdk/aws-lambda:recognizeLayerVersion": (
        True,
        "a function's current_version hashes its layers: a new onnxruntime in the serving layer publishes a new"
        " version, which the data plane's `live` alias (SnapStart, API Gateway) then calls",
    ),
    "@aws-cdk/core:checkSecretUsage": (True, "a secret unwrapped into plain text fails synthesis instead of leaking into the template"),
    "@aws-cdk/core:target-partitions": (
        ["aws", "aws-cn"],
        "partition literals are resolved for the partitions the stack may be deployed in",
    ),
    "@aws-cdk/core:enablePartitionLiterals": (True, "ARNs the stack builds name the partition literally where the region is known"),
    "@aws-cdk/aws-iam:minimizePolicies": (True, "the many grants of a role merge into fewer statements, far from IAM's policy size limit"),
    "@aws-cdk/aws-iam:importedRoleStackSafeDefaultPolicyName": (True, "policies added to imported roles get stack-unique names"),
    "@aws-cdk/aws-iam:oidcRejectUnauthorizedConnections": (True, "an OIDC provider's thumbprint is fetched over verified TLS only"),
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": (True, "the access-log bucket gets the bucket policy S3 log delivery needs"),
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": (True, "server access logs are granted by bucket policy, not by an ACL"),
    "@aws-cdk/aws-s3:publicAccessBlockedByDefault": (True, "every bucket blocks public access even where a construct forgot to say so"),
    "@aws-cdk/aws-s3:keepNotificationInImportedBucket": (False, "notifications of buckets the stack creates are the stack's own"),
    "@aws-cdk/aws-sns-subscriptions:restrictSqsDescryption": (True, "an SQS subscription's KMS grant is scoped to the topic"),
    "@aws-cdk/aws-events:eventsTargetQueueSameAccount": (
        True,
        "a queue target of an events rule is only allowed for the rule's own account",
    ),
    "@aws-cdk/aws-events:requireEventBusPolicySid": (True, "event bus policy statements carry a Sid, so they can be replaced one by one"),
    "@aws-cdk/aws-apigateway:disableCloudWatchRole": (
        True,
        "the account's API Gateway logging role is its own stack (MlopsApiGatewayLogging), not one per RestApi",
    ),
    "@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId": (True, "a changed authorizer redeploys the API's stage"),
    "@aws-cdk/aws-apigateway:requestValidatorUniqueId": (True, "request validators get ids unique in the stack"),
    "@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard": (True, "the stage's access log destination is the log group's ARN"),
    "@aws-cdk/aws-kms:aliasNameRef": (True, "a reference to a KMS alias waits for the alias to exist"),
    "@aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal": (True, "grants on an imported alias reach its key"),
    "@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": (True, "key policies for cross-account use are scoped to the account"),
    "@aws-cdk/core:includePrefixInUniqueNameGeneration": (
        True,
        "generated physical names keep the stack's prefix, so stages never collide",
    ),
    "@aws-cdk/aws-cloudwatch-actions:changeLambdaPermissionLogicalIdForLambdaAction": (
        True,
        "an alarm with a Lambda action gets a permission per alarm",
    ),
    "@aws-cdk/core:explicitStackTags": (True, "stack tags apply to the stack, not copied onto every resource"),
    "@aws-cdk/aws-dynamodb:resourcePolicyPerReplica": (True, "a TableV2 resource policy is set on each replica"),
    "@aws-cdk/aws-dynamodb:retainTableReplica": (
        True,
        "a TableV2 replica keeps the table's removal policy (models, runs and audit are retained)",
    ),
    "@aws-cdk/aws-lambda:createNewPoliciesWithAddToRolePolicy": (
        False,
        "grants go into the role's default policy, as the template tests expect",
    ),
    "@aws-cdk/aws-lambda:useCdkManagedLogGroup": (True, "functions log to a log group the stack owns, with its retention"),
    "@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2": (
        True,
        "a Distributed Map built with CDK writes results with ResultWriter v2",
    ),
    "@aws-cdk/aws-stepfunctions-tasks:fixRunEcsTaskPolicy": (True, "task grants are scoped as Step Functions documents them"),
    "@aws-cdk/core:aspectPrioritiesMutating": (True, "aspects that change constructs run before those that read them (cdk-nag reads)"),
    "@aws-cdk/core:validateSnapshotRemovalPolicy": (True, "a removal policy a resource cannot honour fails synthesis"),
    "@aws-cdk/customresources:installLatestAwsSdkDefault": (False, "custom resources never download an SDK at deploy time"),
    "@aws-cdk/custom-resources:logApiResponseDataPropertyTrueDefault": (False, "custom resource responses stay out of the logs"),
    "@aws-cdk/core:annotationsInValidationReport": (True, "warnings appear in the validation report beside cdk-nag's findings"),
    "@aws-cdk/s3-notifications:addS3TrustKeyPolicyForSnsSubscriptions": (True, "S3 may publish to an encrypted SNS topic it notifies"),
}

# Recommended flags for services this stack does not use: setting them would change nothing here.
NOT_APPLICABLE: dict[str, str] = {
    name: f"no {service} in the stack"
    for service, names in {
        "ECS": [
            "@aws-cdk/aws-ecs-patterns:secGroupsDisablesImplicitOpenListener",
            "@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver",
            "@aws-cdk/aws-ecs:arnFormatIncludesClusterName",
            "@aws-cdk/aws-ecs:disableExplicitDeploymentControllerForCircuitBreaker",
            "@aws-cdk/aws-ecs:removeDefaultDeploymentAlarm",
            "@aws-cdk/aws-ecs:reduceEc2FargateCloudWatchPermissions",
            "@aws-cdk/aws-ecs-patterns:uniqueTargetGroupId",
            "@aws-cdk/aws-ecs:removeEmptyLoadBalancers",
        ],
        "EC2, VPC or Auto Scaling": [
            "@aws-cdk/aws-ec2:uniqueImdsv2TemplateName",
            "@aws-cdk/aws-ec2:launchTemplateDefaultUserData",
            "@aws-cdk/aws-ec2:restrictDefaultSecurityGroup",
            "@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig",
            "@aws-cdk/aws-ec2:ebsDefaultGp3Volume",
            "@aws-cdk/aws-ec2:ec2SumTImeoutEnabled",
            "@aws-cdk/aws-ec2:bastionHostUseAmazonLinux2023ByDefault",
            "@aws-cdk/aws-ec2:requirePrivateSubnetsForEgressOnlyInternetGateway",
        ],
        "load balancer": [
            "@aws-cdk/aws-elasticloadbalancingV2:albDualstackWithoutPublicIpv4SecurityGroupRulesDefault",
            "@aws-cdk/aws-elasticloadbalancingv2:networkLoadBalancerWithSecurityGroupByDefault",
            "@aws-cdk/aws-elasticloadbalancingv2:usePostQuantumTlsPolicy",
        ],
        "database (RDS, Redshift, OpenSearch)": [
            "@aws-cdk/aws-rds:databaseProxyUniqueResourceName",
            "@aws-cdk/aws-rds:auroraClusterChangeScopeOfInstanceParameterGroupWithEachParameters",
            "@aws-cdk/aws-rds:preventRenderingDeprecatedCredentials",
            "@aws-cdk/aws-rds:setCorrectValueForDatabaseInstanceReadReplicaInstanceResourceId",
            "@aws-cdk/aws-redshift:columnId",
            "@aws-cdk/aws-opensearchservice:enableOpensearchMultiAzWithStandby",
        ],
        "EKS or Batch": [
            "@aws-cdk/aws-eks:nodegroupNameAttribute",
            "@aws-cdk/aws-eks:useNativeOidcProvider",
            "@aws-cdk/aws-eks:defaultToAL2023",
            "@aws-cdk/aws-batch:defaultToAL2023",
        ],
        "CodePipeline or CodeDeploy (CI/CD is GitHub Actions)": [
            "@aws-cdk/aws-codepipeline:crossAccountKeyAliasStackSafeResourceName",
            "@aws-cdk/aws-codedeploy:removeAlarmsFromDeploymentGroup",
            "@aws-cdk/aws-codepipeline-actions:useNewDefaultBranchForCodeCommitSource",
            "@aws-cdk/aws-codepipeline:crossAccountKeysDefaultValueToFalse",
            "@aws-cdk/aws-codepipeline:defaultPipelineTypeToV2",
        ],
        "CloudFront or Route 53": [
            "@aws-cdk/aws-route53-patters:useCertificate",
            "@aws-cdk/aws-route53-targets:userPoolDomainNameMethodWithoutCustomResource",
            "@aws-cdk/aws-route53-patterns:useDistribution",
            "@aws-cdk/aws-cloudfront:defaultFunctionRuntimeV2_0",
            "@aws-cdk/aws-cloudfront:defaultViewerProtocolPolicyRedirectToHttps",
        ],
        "other unused service (Signer, Secrets Manager, EFS, AppSync, EMR, S3 replication, Node.js functions)": [
            "@aws-cdk/aws-signer:signingProfileNamePassedToCfn",
            "@aws-cdk/aws-secretsmanager:useAttachedSecretResourcePolicyForSecretTargetAttachments",
            "@aws-cdk/aws-efs:denyAnonymousAccess",
            "@aws-cdk/aws-efs:mountTargetOrderInsensitiveLogicalId",
            "@aws-cdk/aws-appsync:useArnForSourceApiAssociationIdentifier",
            "@aws-cdk/aws-appsync:appSyncGraphQLAPIScopeLambdaPermission",
            "@aws-cdk/aws-stepfunctions-tasks:enableEmrServicePolicyV2",
            "@aws-cdk/aws-s3:setUniqueReplicationRoleName",
            "@aws-cdk/aws-lambda-nodejs:useLatestRuntimeVersion",
            "@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages",
        ],
        "use for it here (kept at the library's default)": [
            # Metadata collection reports construct usage to AWS; analytics reporting is off in build_app.
            "@aws-cdk/core:enableAdditionalMetadataCollection",
            # Weak cross-stack references: the app's two stacks share no references.
            "@aws-cdk/core:defaultCrossStackReferences",
            # Default rule validation would add findings beside cdk-nag's, which already gate synthesis.
            "@aws-cdk/core:validateAgainstDefaultRules",
            # Imports of templates: the stack includes none.
            "@aws-cdk/core:cfnIncludeRejectComplexResourceUpdateCreatePolicyIntrinsics",
        ],
    }.items()
    for name in names
}


def context() -> dict[str, Any]:
    return {name: value for name, (value, _) in APPLIED.items()}
