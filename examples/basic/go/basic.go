// The basic example in Go: examples/basic/app.ts, line for line.
// Airflow 3 on ECS Fargate as two stacks, the way the story split it.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdk-airflow-ecs/cdk-airflow-ecs-go/cdkairflowecs"
)

// AirflowStorageStack is the stateful half: VPC, PostgreSQL, Valkey, log bucket and secrets. Deploy once, keep.
type AirflowStorageStack struct {
	awscdk.Stack
	Storage cdkairflowecs.AirflowStorage
}

func NewAirflowStorageStack(scope constructs.Construct, id string, props *awscdk.StackProps) *AirflowStorageStack {
	stack := awscdk.NewStack(scope, jsii.String(id), props)
	storage := cdkairflowecs.NewAirflowStorage(stack, jsii.String("Storage"), nil)
	return &AirflowStorageStack{Stack: stack, Storage: storage}
}

// NewAirflowServicesStack is the stateless half: ECS services, load balancer, migrations. Destroy and recreate at will.
func NewAirflowServicesStack(scope constructs.Construct, id string, props *awscdk.StackProps, storage cdkairflowecs.AirflowStorage) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), props)
	// `cdk synth -c airflowVersion=3.1.8` deploys another supported release; the default is the newest
	var image cdkairflowecs.AirflowImage
	if version, ok := stack.Node().TryGetContext(jsii.String("airflowVersion")).(string); ok && version != "" {
		image = cdkairflowecs.AirflowImage_Official(cdkairflowecs.AirflowVersion_Of(jsii.String(version)), nil)
	}
	// outputs the Airflow URL and the admin password's secret
	cdkairflowecs.NewAirflowOnEcs(stack, jsii.String("Airflow"), &cdkairflowecs.AirflowOnEcsProps{
		Storage: storage,
		Image:   image,
		// 0–10 workers following the task queue, 75% on Fargate Spot (the defaults, spelled out)
		Workers: &cdkairflowecs.AirflowWorkerOptions{MinCapacity: jsii.Number(0), MaxCapacity: jsii.Number(10)},
	})
	return stack
}

// CreateApp builds the example's app.
func CreateApp(app awscdk.App) awscdk.App {
	storage := NewAirflowStorageStack(app, "AirflowStorage", nil)
	NewAirflowServicesStack(app, "AirflowServices", nil, storage.Storage)
	return app
}

func main() {
	defer jsii.Close()
	CreateApp(awscdk.NewApp(nil)).Synth(nil)
}
