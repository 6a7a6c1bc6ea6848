// The fleet with its cache nodes on EC2 instances in moto_server, each backed by a real cache process.
import { fleetSuite } from './fleet-scenarios.js';

fleetSuite({ provider: 'ec2', name: 'ec2', octet: 2 });
