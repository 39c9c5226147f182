# How Parley's pods reach S3.
#
# Preferred: IRSA. The chart sets no serviceAccountName, so every function and the socket-edge run as
# the namespace's `default` ServiceAccount; it is annotated with an IAM role whose trust policy
# accepts only that ServiceAccount's projected token. Credentials are short-lived, rotate
# themselves, and exist in no Secret, no state file and no laptop.
#
# Fallback: static keys of a dedicated IAM user, put into parley-secrets as S3_ACCESS_KEY /
# S3_SECRET_KEY. They never expire, are in Terraform state, and must be rotated by hand.
#
# With no S3_ACCESS_KEY, infra/s3 uses the SDK default chain, which reads AWS_WEB_IDENTITY_TOKEN_FILE /
# AWS_ROLE_ARN injected by IRSA.

data "aws_iam_policy_document" "files" {
  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.s3.bucket_arn}/*"]
  }
  statement {
    sid       = "Bucket" # HeadBucket (readiness) needs ListBucket
    actions   = ["s3:ListBucket"]
    resources = [var.s3.bucket_arn]
  }
  dynamic "statement" {
    for_each = var.s3.kms_key_arn == null ? [] : [var.s3.kms_key_arn]
    content {
      sid       = "Kms"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "files" {
  name   = "${var.name}-files"
  policy = data.aws_iam_policy_document.files.json
  tags   = var.tags
}

data "aws_iam_policy_document" "irsa_trust" {
  count = var.s3_auth_mode == "irsa" ? 1 : 0
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.irsa.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.irsa.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:default"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.irsa.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "files" {
  count              = var.s3_auth_mode == "irsa" ? 1 : 0
  name               = "${var.name}-files"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "files" {
  count      = var.s3_auth_mode == "irsa" ? 1 : 0
  role       = aws_iam_role.files[0].name
  policy_arn = aws_iam_policy.files.arn
}

# The namespace's default ServiceAccount, which the chart's pods use. Managed (not just annotated)
# so Terraform waits for it to exist.
resource "kubernetes_default_service_account_v1" "parley" {
  metadata {
    namespace = var.namespace
    annotations = var.s3_auth_mode == "irsa" ? {
      "eks.amazonaws.com/role-arn" = aws_iam_role.files[0].arn
    } : {}
  }
}

resource "aws_iam_user" "files" {
  count = var.s3_auth_mode == "static_keys" ? 1 : 0
  name  = "${var.name}-files"
  tags  = var.tags
}

resource "aws_iam_user_policy_attachment" "files" {
  count      = var.s3_auth_mode == "static_keys" ? 1 : 0
  user       = aws_iam_user.files[0].name
  policy_arn = aws_iam_policy.files.arn
}

resource "aws_iam_access_key" "files" {
  count = var.s3_auth_mode == "static_keys" ? 1 : 0
  user  = aws_iam_user.files[0].name
}

# MSK IAM (kafka.sasl_mechanism = AWS_MSK_IAM): the same IRSA role may connect, read and write
# Parley's topics and use its consumer groups (the edges' socket-edge-*).
data "aws_iam_policy_document" "kafka" {
  count = local.kafka_iam ? 1 : 0
  statement {
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    resources = [var.kafka.cluster_arn]
  }
  statement {
    actions = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:WriteData",
    "kafka-cluster:CreateTopic"]
    resources = ["${replace(var.kafka.cluster_arn, ":cluster/", ":topic/")}/*"]
  }
  statement {
    actions   = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
    resources = ["${replace(var.kafka.cluster_arn, ":cluster/", ":group/")}/*"]
  }
}

resource "aws_iam_role_policy" "kafka" {
  count  = local.kafka_iam ? 1 : 0
  name   = "msk-iam"
  role   = aws_iam_role.files[0].id
  policy = data.aws_iam_policy_document.kafka[0].json
}
