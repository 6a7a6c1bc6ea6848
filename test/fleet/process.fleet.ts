// The fleet with its cache nodes as `process`-provider children of the managers.
import { fleetSuite } from './fleet-scenarios.js';

fleetSuite({ provider: 'process', name: 'process', octet: 1 });
