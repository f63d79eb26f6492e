module example/basic

go 1.25.0

require (
	github.com/aws/aws-cdk-go/awscdk/v2 v2.257.0
	github.com/aws/constructs-go/constructs/v10 v10.5.1
	github.com/aws/jsii-runtime-go v1.140.0
	github.com/cdk-airflow-ecs/cdk-airflow-ecs-go/cdkairflowecs v0.0.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/cdklabs/awscdk-asset-awscli-go/awscliv1/v2 v2.2.273 // indirect
	github.com/cdklabs/awscdk-asset-node-proxy-agent-go/nodeproxyagentv6/v2 v2.1.1 // indirect
	github.com/cdklabs/cdk-ecr-deployment-go/cdkecrdeployment/v4 v4.2.65 // indirect
	github.com/cdklabs/cloud-assembly-schema-go/awscdkcloudassemblyschema/v53 v53.25.0 // indirect
	github.com/fatih/color v1.19.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/yuin/goldmark v1.7.16 // indirect
	golang.org/x/lint v0.0.0-20241112194109-818c5a804067 // indirect
	golang.org/x/mod v0.39.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/telemetry v0.0.0-20260811182544-a038080d80e5 // indirect
	golang.org/x/tools v0.49.0 // indirect
	golang.org/x/tools/cmd/godoc v0.1.0-deprecated // indirect
	golang.org/x/tools/godoc v0.1.0-deprecated // indirect
)

// The module jsii-pacmak generates from this repository (scripts/bindings/run.sh); in your own
// app, drop this line and require the released version.
replace github.com/cdk-airflow-ecs/cdk-airflow-ecs-go/cdkairflowecs => ../../../dist/bindings/go/cdkairflowecs

// cdk-ecr-deployment, a dependency of the module above: the Go module proxy our machines reach does not
// serve it, so scripts/bindings/run.sh generates it from its npm package; in your own app, drop this line.
replace github.com/cdklabs/cdk-ecr-deployment-go/cdkecrdeployment/v4 => ../../../dist/bindings/go/cdkecrdeployment
