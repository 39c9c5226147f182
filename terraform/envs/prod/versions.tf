terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }

  # State holds generated passwords (RDS master, app and Keto roles) and, in static_keys mode, an
  # IAM secret key: keep it in an encrypted, access-controlled remote backend, never in git.
  # backend "s3" {
  #   bucket         = "my-org-terraform-state"
  #   key            = "parley/prod/terraform.tfstate"
  #   region         = "us-east-1"
  #   encrypt        = true
  #   dynamodb_table = "terraform-locks" # or use_lockfile = true with recent Terraform
  # }
}
