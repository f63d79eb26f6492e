import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DEFAULTS } from '../private/defaults';
import { acknowledgeNag, NAG } from '../private/nag';

/**
 * The default egress of the VPC `AirflowStorage` creates: one NAT instance (Amazon Linux 2023 on
 * a Graviton t4g.nano) instead of a NAT gateway, about $3 a month against $33 (README, "Cost and
 * performance"). The image layers come from S3 through the VPC's gateway endpoint, so the
 * instance carries the AWS API calls, the logs and the tasks' own traffic.
 *
 * aws-cdk-lib's `NatProvider.instanceV2` is not used as is: it opens the instance to the whole
 * internet unless told otherwise, cannot require IMDSv2 or encrypt the root volume, and passes
 * the deprecated `keyName` to `ec2.Instance`, which prints a deprecation warning on every synth.
 */
export class AirflowNatInstanceProvider extends ec2.NatProvider {
  private readonly gateways: { az: string; instance: ec2.Instance }[] = [];

  public configureNat(options: ec2.ConfigureNatOptions): void {
    const instanceType = new ec2.InstanceType(DEFAULTS.natInstanceType);
    const securityGroup = new ec2.SecurityGroup(options.vpc, 'NatSecurityGroup', {
      vpc: options.vpc,
      description: 'NAT instance: forwards the traffic of the private subnets to the internet',
      allowAllOutbound: true,
    });
    for (const subnet of options.privateSubnets) {
      securityGroup.addIngressRule(ec2.Peer.ipv4(subnet.ipv4CidrBlock), ec2.Port.allTraffic(), `from private subnet ${subnet.node.id}`);
    }
    const userData = ec2.UserData.forLinux();
    userData.addCommands(...ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS);
    for (const subnet of options.natSubnets) {
      const instance = new ec2.Instance(subnet, 'NatInstance', {
        vpc: options.vpc,
        vpcSubnets: { subnets: [subnet] },
        instanceType,
        machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
        sourceDestCheck: false,
        // the public subnets map no public addresses on launch; the instance needs one
        associatePublicIpAddress: true,
        securityGroup,
        userData,
        blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
      });
      // IMDSv2 on the instance itself: `requireImdsv2` would add a launch template, and a user's own
      // InstanceRequireImdsv2Aspect then warns that it cannot change it
      (instance.node.defaultChild as ec2.CfnInstance).metadataOptions = { httpTokens: 'required', httpEndpoint: 'enabled', httpPutResponseHopLimit: 1 };
      acknowledgeNag(instance, [NAG.natInstanceMonitoring, NAG.natInstanceTermination]);
      this.gateways.push({ az: subnet.availabilityZone, instance });
    }
    for (const subnet of options.privateSubnets) this.configureSubnet(subnet);
  }

  public configureSubnet(subnet: ec2.PrivateSubnet): void {
    const gateway = this.gateways.find(g => g.az === subnet.availabilityZone) ?? this.gateways[0];
    subnet.addRoute('DefaultRoute', {
      routerType: ec2.RouterType.INSTANCE,
      routerId: gateway.instance.instanceId,
      enablesInternetConnectivity: true,
    });
  }

  public get configuredGateways(): ec2.GatewayConfig[] {
    return this.gateways.map(g => ({ az: g.az, gatewayId: g.instance.instanceId }));
  }
}
