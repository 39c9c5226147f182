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
    http = {
      source  = "hashicorp/http"
      version = "~> 3.4"
    }
  }

  # State holds generated passwords (RDS master, app and Keto roles) and, in static_keys mode, an
  # IAM secret key: keep it in an encrypted, access-controlled remote backend, never in git.
  # Partial backend config: the bucket and key come from ../envs/<env>.backend.hcl
  # (see backend.hcl.example), so one root module serves every environment.
  # backend "s3" {}
}
