/* eslint-disable require-yield */
import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var OverlayEnvelope;
(function (OverlayEnvelope) {
    let _codec;
    OverlayEnvelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.error != null) {
                    obj.routePush = undefined;
                    obj.routeAnswer = undefined;
                    obj.routeQuery = undefined;
                    obj.routingAck = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryReply = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.routePush != null) {
                    obj.error = undefined;
                    obj.routeAnswer = undefined;
                    obj.routeQuery = undefined;
                    obj.routingAck = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryReply = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.routeAnswer != null) {
                    obj.error = undefined;
                    obj.routePush = undefined;
                    obj.routeQuery = undefined;
                    obj.routingAck = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryReply = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.routeQuery != null) {
                    obj.error = undefined;
                    obj.routePush = undefined;
                    obj.routeAnswer = undefined;
                    obj.routingAck = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryReply = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.routingAck != null) {
                    obj.error = undefined;
                    obj.routePush = undefined;
                    obj.routeAnswer = undefined;
                    obj.routeQuery = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryReply = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.routingRules != null) {
                    obj.error = undefined;
                    obj.routePush = undefined;
                    obj.routeAnswer = undefined;
                    obj.routeQuery = undefined;
                    obj.routingAck = undefined;
                    obj.telemetryReply = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.telemetryReply != null) {
                    obj.error = undefined;
                    obj.routePush = undefined;
                    obj.routeAnswer = undefined;
                    obj.routeQuery = undefined;
                    obj.routingAck = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryRequest = undefined;
                }
                if (obj.telemetryRequest != null) {
                    obj.error = undefined;
                    obj.routePush = undefined;
                    obj.routeAnswer = undefined;
                    obj.routeQuery = undefined;
                    obj.routingAck = undefined;
                    obj.routingRules = undefined;
                    obj.telemetryReply = undefined;
                }
                if (obj.telemetryRequest != null) {
                    w.uint32(10);
                    TelemetryRequest.codec().encode(obj.telemetryRequest, w);
                }
                if (obj.telemetryReply != null) {
                    w.uint32(18);
                    TelemetryReply.codec().encode(obj.telemetryReply, w);
                }
                if (obj.routingRules != null) {
                    w.uint32(26);
                    RoutingRules.codec().encode(obj.routingRules, w);
                }
                if (obj.routingAck != null) {
                    w.uint32(34);
                    RoutingAck.codec().encode(obj.routingAck, w);
                }
                if (obj.routeQuery != null) {
                    w.uint32(42);
                    RouteQuery.codec().encode(obj.routeQuery, w);
                }
                if (obj.routeAnswer != null) {
                    w.uint32(50);
                    RouteAnswer.codec().encode(obj.routeAnswer, w);
                }
                if (obj.routePush != null) {
                    w.uint32(58);
                    RoutePush.codec().encode(obj.routePush, w);
                }
                if (obj.error != null) {
                    w.uint32(66);
                    OverlayError.codec().encode(obj.error, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.telemetryRequest = TelemetryRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.telemetryRequest
                            });
                            break;
                        }
                        case 2: {
                            obj.telemetryReply = TelemetryReply.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.telemetryReply
                            });
                            break;
                        }
                        case 3: {
                            obj.routingRules = RoutingRules.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.routingRules
                            });
                            break;
                        }
                        case 4: {
                            obj.routingAck = RoutingAck.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.routingAck
                            });
                            break;
                        }
                        case 5: {
                            obj.routeQuery = RouteQuery.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.routeQuery
                            });
                            break;
                        }
                        case 6: {
                            obj.routeAnswer = RouteAnswer.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.routeAnswer
                            });
                            break;
                        }
                        case 7: {
                            obj.routePush = RoutePush.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.routePush
                            });
                            break;
                        }
                        case 8: {
                            obj.error = OverlayError.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                if (obj.error != null) {
                    delete obj.routePush;
                    delete obj.routeAnswer;
                    delete obj.routeQuery;
                    delete obj.routingAck;
                    delete obj.routingRules;
                    delete obj.telemetryReply;
                    delete obj.telemetryRequest;
                }
                if (obj.routePush != null) {
                    delete obj.error;
                    delete obj.routeAnswer;
                    delete obj.routeQuery;
                    delete obj.routingAck;
                    delete obj.routingRules;
                    delete obj.telemetryReply;
                    delete obj.telemetryRequest;
                }
                if (obj.routeAnswer != null) {
                    delete obj.error;
                    delete obj.routePush;
                    delete obj.routeQuery;
                    delete obj.routingAck;
                    delete obj.routingRules;
                    delete obj.telemetryReply;
                    delete obj.telemetryRequest;
                }
                if (obj.routeQuery != null) {
                    delete obj.error;
                    delete obj.routePush;
                    delete obj.routeAnswer;
                    delete obj.routingAck;
                    delete obj.routingRules;
                    delete obj.telemetryReply;
                    delete obj.telemetryRequest;
                }
                if (obj.routingAck != null) {
                    delete obj.error;
                    delete obj.routePush;
                    delete obj.routeAnswer;
                    delete obj.routeQuery;
                    delete obj.routingRules;
                    delete obj.telemetryReply;
                    delete obj.telemetryRequest;
                }
                if (obj.routingRules != null) {
                    delete obj.error;
                    delete obj.routePush;
                    delete obj.routeAnswer;
                    delete obj.routeQuery;
                    delete obj.routingAck;
                    delete obj.telemetryReply;
                    delete obj.telemetryRequest;
                }
                if (obj.telemetryReply != null) {
                    delete obj.error;
                    delete obj.routePush;
                    delete obj.routeAnswer;
                    delete obj.routeQuery;
                    delete obj.routingAck;
                    delete obj.routingRules;
                    delete obj.telemetryRequest;
                }
                if (obj.telemetryRequest != null) {
                    delete obj.error;
                    delete obj.routePush;
                    delete obj.routeAnswer;
                    delete obj.routeQuery;
                    delete obj.routingAck;
                    delete obj.routingRules;
                    delete obj.telemetryReply;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TelemetryRequest.codec().stream(reader, reader.uint32(), `${prefix}.telemetryRequest`, {
                                limits: opts.limits?.telemetryRequest
                            });
                            break;
                        }
                        case 2: {
                            yield* TelemetryReply.codec().stream(reader, reader.uint32(), `${prefix}.telemetryReply`, {
                                limits: opts.limits?.telemetryReply
                            });
                            break;
                        }
                        case 3: {
                            yield* RoutingRules.codec().stream(reader, reader.uint32(), `${prefix}.routingRules`, {
                                limits: opts.limits?.routingRules
                            });
                            break;
                        }
                        case 4: {
                            yield* RoutingAck.codec().stream(reader, reader.uint32(), `${prefix}.routingAck`, {
                                limits: opts.limits?.routingAck
                            });
                            break;
                        }
                        case 5: {
                            yield* RouteQuery.codec().stream(reader, reader.uint32(), `${prefix}.routeQuery`, {
                                limits: opts.limits?.routeQuery
                            });
                            break;
                        }
                        case 6: {
                            yield* RouteAnswer.codec().stream(reader, reader.uint32(), `${prefix}.routeAnswer`, {
                                limits: opts.limits?.routeAnswer
                            });
                            break;
                        }
                        case 7: {
                            yield* RoutePush.codec().stream(reader, reader.uint32(), `${prefix}.routePush`, {
                                limits: opts.limits?.routePush
                            });
                            break;
                        }
                        case 8: {
                            yield* OverlayError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, OverlayEnvelope.codec());
    }
    OverlayEnvelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, OverlayEnvelope.codec(), opts);
    }
    OverlayEnvelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, OverlayEnvelope.codec(), opts);
    }
    OverlayEnvelope.stream = stream;
})(OverlayEnvelope || (OverlayEnvelope = {}));
export var TelemetryRequest;
(function (TelemetryRequest) {
    let _codec;
    TelemetryRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    LeaseAccess.codec().encode(obj.access, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = LeaseAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* LeaseAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TelemetryRequest.codec());
    }
    TelemetryRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TelemetryRequest.codec(), opts);
    }
    TelemetryRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TelemetryRequest.codec(), opts);
    }
    TelemetryRequest.stream = stream;
})(TelemetryRequest || (TelemetryRequest = {}));
export var SubnetFlow;
(function (SubnetFlow) {
    let _codec;
    SubnetFlow.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.subnet != null && obj.subnet !== '')) {
                    w.uint32(10);
                    w.string(obj.subnet);
                }
                if ((obj.rateMilli != null && obj.rateMilli !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.rateMilli);
                }
                if ((obj.latencyUs != null && obj.latencyUs !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.latencyUs);
                }
                if ((obj.requests != null && obj.requests !== 0n)) {
                    w.uint32(32);
                    writeUint64(w, obj.requests);
                }
                if ((obj.client != null && obj.client !== '')) {
                    w.uint32(42);
                    w.string(obj.client);
                }
                if ((obj.rttUs != null && obj.rttUs !== 0)) {
                    w.uint32(48);
                    w.uint32(obj.rttUs);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    subnet: '',
                    rateMilli: 0,
                    latencyUs: 0,
                    requests: 0n,
                    client: '',
                    rttUs: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.subnet = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.rateMilli = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.latencyUs = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.requests = reader.uint64();
                            break;
                        }
                        case 5: {
                            obj.client = readStrictString(reader);
                            break;
                        }
                        case 6: {
                            obj.rttUs = reader.uint32();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.subnet`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.rateMilli`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.latencyUs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.requests`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.client`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.rttUs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, SubnetFlow.codec());
    }
    SubnetFlow.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, SubnetFlow.codec(), opts);
    }
    SubnetFlow.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, SubnetFlow.codec(), opts);
    }
    SubnetFlow.stream = stream;
})(SubnetFlow || (SubnetFlow = {}));
export var TelemetryReply;
(function (TelemetryReply) {
    let _codec;
    TelemetryReply.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.flows != null && obj.flows.length > 0) {
                    for (const value of obj.flows) {
                        w.uint32(10);
                        SubnetFlow.codec().encode(value, w);
                    }
                }
                if ((obj.atMs != null && obj.atMs !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.atMs);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    flows: [],
                    atMs: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.flows != null && obj.flows.length === opts.limits.flows) {
                                throw new MaxLengthError('Decode error - repeated field "flows" had too many elements');
                            }
                            obj.flows.push(SubnetFlow.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.flows$
                            }));
                            break;
                        }
                        case 2: {
                            obj.atMs = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    flows: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.flows != null && obj.flows === opts.limits.flows) {
                                throw new MaxLengthError('Streaming decode error - repeated field "flows" had too many elements');
                            }
                            for (const evt of SubnetFlow.codec().stream(reader, reader.uint32(), `${prefix}.flows[]`, {
                                limits: opts.limits?.flows$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.flows
                                };
                            }
                            obj.flows++;
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.atMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TelemetryReply.codec());
    }
    TelemetryReply.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TelemetryReply.codec(), opts);
    }
    TelemetryReply.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TelemetryReply.codec(), opts);
    }
    TelemetryReply.stream = stream;
})(TelemetryReply || (TelemetryReply = {}));
export var Redirect;
(function (Redirect) {
    let _codec;
    Redirect.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.subnet != null && obj.subnet !== '')) {
                    w.uint32(10);
                    w.string(obj.subnet);
                }
                if ((obj.location != null && obj.location !== '')) {
                    w.uint32(18);
                    w.string(obj.location);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    subnet: '',
                    location: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.subnet = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.location = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.subnet`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.location`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Redirect.codec());
    }
    Redirect.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Redirect.codec(), opts);
    }
    Redirect.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Redirect.codec(), opts);
    }
    Redirect.stream = stream;
})(Redirect || (Redirect = {}));
export var Stub;
(function (Stub) {
    let _codec;
    Stub.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.yard != null && obj.yard !== '')) {
                    w.uint32(10);
                    w.string(obj.yard);
                }
                if (obj.addrs != null && obj.addrs.length > 0) {
                    for (const value of obj.addrs) {
                        w.uint32(18);
                        w.string(value);
                    }
                }
                if ((obj.instanceId != null && obj.instanceId !== 0n)) {
                    w.uint32(24);
                    writeUint64(w, obj.instanceId);
                }
                if ((obj.endpoint != null && obj.endpoint !== '')) {
                    w.uint32(34);
                    w.string(obj.endpoint);
                }
                if ((obj.graceS != null && obj.graceS !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.graceS);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    yard: '',
                    addrs: [],
                    instanceId: 0n,
                    endpoint: '',
                    graceS: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.yard = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements');
                            }
                            obj.addrs.push(readStrictString(reader));
                            break;
                        }
                        case 3: {
                            obj.instanceId = reader.uint64();
                            break;
                        }
                        case 4: {
                            obj.endpoint = readStrictString(reader);
                            break;
                        }
                        case 5: {
                            obj.graceS = reader.uint32();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    addrs: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.yard`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements');
                            }
                            yield {
                                field: `${prefix}.addrs[]`,
                                index: obj.addrs,
                                value: readStrictString(reader)
                            };
                            obj.addrs++;
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.instanceId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.endpoint`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.graceS`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Stub.codec());
    }
    Stub.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Stub.codec(), opts);
    }
    Stub.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Stub.codec(), opts);
    }
    Stub.stream = stream;
})(Stub || (Stub = {}));
export var RoutingRules;
(function (RoutingRules) {
    let _codec;
    RoutingRules.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    LeaseAccess.codec().encode(obj.access, w);
                }
                if (obj.redirects != null && obj.redirects.length > 0) {
                    for (const value of obj.redirects) {
                        w.uint32(18);
                        Redirect.codec().encode(value, w);
                    }
                }
                if (obj.stub != null) {
                    w.uint32(26);
                    Stub.codec().encode(obj.stub, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    redirects: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = LeaseAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.redirects != null && obj.redirects.length === opts.limits.redirects) {
                                throw new MaxLengthError('Decode error - repeated field "redirects" had too many elements');
                            }
                            obj.redirects.push(Redirect.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.redirects$
                            }));
                            break;
                        }
                        case 3: {
                            obj.stub = Stub.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.stub
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    redirects: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* LeaseAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.redirects != null && obj.redirects === opts.limits.redirects) {
                                throw new MaxLengthError('Streaming decode error - repeated field "redirects" had too many elements');
                            }
                            for (const evt of Redirect.codec().stream(reader, reader.uint32(), `${prefix}.redirects[]`, {
                                limits: opts.limits?.redirects$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.redirects
                                };
                            }
                            obj.redirects++;
                            break;
                        }
                        case 3: {
                            yield* Stub.codec().stream(reader, reader.uint32(), `${prefix}.stub`, {
                                limits: opts.limits?.stub
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RoutingRules.codec());
    }
    RoutingRules.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RoutingRules.codec(), opts);
    }
    RoutingRules.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RoutingRules.codec(), opts);
    }
    RoutingRules.stream = stream;
})(RoutingRules || (RoutingRules = {}));
export var RoutingAck;
(function (RoutingAck) {
    let _codec;
    RoutingAck.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RoutingAck.codec());
    }
    RoutingAck.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RoutingAck.codec(), opts);
    }
    RoutingAck.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RoutingAck.codec(), opts);
    }
    RoutingAck.stream = stream;
})(RoutingAck || (RoutingAck = {}));
export var RouteQuery;
(function (RouteQuery) {
    let _codec;
    RouteQuery.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.service != null && obj.service !== '')) {
                    w.uint32(10);
                    w.string(obj.service);
                }
                if ((obj.interest != null && obj.interest !== false)) {
                    w.uint32(16);
                    w.bool(obj.interest);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    service: '',
                    interest: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.service = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.interest = reader.bool();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.service`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.interest`,
                                value: reader.bool()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RouteQuery.codec());
    }
    RouteQuery.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RouteQuery.codec(), opts);
    }
    RouteQuery.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RouteQuery.codec(), opts);
    }
    RouteQuery.stream = stream;
})(RouteQuery || (RouteQuery = {}));
export var RouteInstance;
(function (RouteInstance) {
    let _codec;
    RouteInstance.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.service != null && obj.service !== '')) {
                    w.uint32(10);
                    w.string(obj.service);
                }
                if ((obj.instanceId != null && obj.instanceId !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.instanceId);
                }
                if ((obj.yard != null && obj.yard !== '')) {
                    w.uint32(26);
                    w.string(obj.yard);
                }
                if (obj.addrs != null && obj.addrs.length > 0) {
                    for (const value of obj.addrs) {
                        w.uint32(34);
                        w.string(value);
                    }
                }
                if (obj.ports != null && obj.ports.length > 0) {
                    for (const value of obj.ports) {
                        w.uint32(40);
                        w.uint32(value);
                    }
                }
                if (obj.udpPorts != null && obj.udpPorts.length > 0) {
                    for (const value of obj.udpPorts) {
                        w.uint32(48);
                        w.uint32(value);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    service: '',
                    instanceId: 0n,
                    yard: '',
                    addrs: [],
                    ports: [],
                    udpPorts: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.service = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.instanceId = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.yard = readStrictString(reader);
                            break;
                        }
                        case 4: {
                            if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements');
                            }
                            obj.addrs.push(readStrictString(reader));
                            break;
                        }
                        case 5: {
                            if (opts.limits?.ports != null && obj.ports.length === opts.limits.ports) {
                                throw new MaxLengthError('Decode error - repeated field "ports" had too many elements');
                            }
                            obj.ports.push(reader.uint32());
                            break;
                        }
                        case 6: {
                            if (opts.limits?.udpPorts != null && obj.udpPorts.length === opts.limits.udpPorts) {
                                throw new MaxLengthError('Decode error - repeated field "udpPorts" had too many elements');
                            }
                            obj.udpPorts.push(reader.uint32());
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    addrs: 0,
                    ports: 0,
                    udpPorts: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.service`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.instanceId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.yard`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 4: {
                            if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements');
                            }
                            yield {
                                field: `${prefix}.addrs[]`,
                                index: obj.addrs,
                                value: readStrictString(reader)
                            };
                            obj.addrs++;
                            break;
                        }
                        case 5: {
                            if (opts.limits?.ports != null && obj.ports === opts.limits.ports) {
                                throw new MaxLengthError('Streaming decode error - repeated field "ports" had too many elements');
                            }
                            yield {
                                field: `${prefix}.ports[]`,
                                index: obj.ports,
                                value: reader.uint32()
                            };
                            obj.ports++;
                            break;
                        }
                        case 6: {
                            if (opts.limits?.udpPorts != null && obj.udpPorts === opts.limits.udpPorts) {
                                throw new MaxLengthError('Streaming decode error - repeated field "udpPorts" had too many elements');
                            }
                            yield {
                                field: `${prefix}.udpPorts[]`,
                                index: obj.udpPorts,
                                value: reader.uint32()
                            };
                            obj.udpPorts++;
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RouteInstance.codec());
    }
    RouteInstance.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RouteInstance.codec(), opts);
    }
    RouteInstance.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RouteInstance.codec(), opts);
    }
    RouteInstance.stream = stream;
})(RouteInstance || (RouteInstance = {}));
export var RouteVersion;
(function (RouteVersion) {
    let _codec;
    RouteVersion.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.epochMs != null && obj.epochMs !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.epochMs);
                }
                if ((obj.seq != null && obj.seq !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.seq);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    epochMs: 0n,
                    seq: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.epochMs = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.seq = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.epochMs`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.seq`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RouteVersion.codec());
    }
    RouteVersion.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RouteVersion.codec(), opts);
    }
    RouteVersion.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RouteVersion.codec(), opts);
    }
    RouteVersion.stream = stream;
})(RouteVersion || (RouteVersion = {}));
export var RouteAnswer;
(function (RouteAnswer) {
    let _codec;
    RouteAnswer.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.instances != null && obj.instances.length > 0) {
                    for (const value of obj.instances) {
                        w.uint32(10);
                        RouteInstance.codec().encode(value, w);
                    }
                }
                if ((obj.ttlS != null && obj.ttlS !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.ttlS);
                }
                if (obj.version != null) {
                    w.uint32(26);
                    RouteVersion.codec().encode(obj.version, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    instances: [],
                    ttlS: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.instances != null && obj.instances.length === opts.limits.instances) {
                                throw new MaxLengthError('Decode error - repeated field "instances" had too many elements');
                            }
                            obj.instances.push(RouteInstance.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.instances$
                            }));
                            break;
                        }
                        case 2: {
                            obj.ttlS = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.version = RouteVersion.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.version
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    instances: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.instances != null && obj.instances === opts.limits.instances) {
                                throw new MaxLengthError('Streaming decode error - repeated field "instances" had too many elements');
                            }
                            for (const evt of RouteInstance.codec().stream(reader, reader.uint32(), `${prefix}.instances[]`, {
                                limits: opts.limits?.instances$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.instances
                                };
                            }
                            obj.instances++;
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.ttlS`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield* RouteVersion.codec().stream(reader, reader.uint32(), `${prefix}.version`, {
                                limits: opts.limits?.version
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RouteAnswer.codec());
    }
    RouteAnswer.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RouteAnswer.codec(), opts);
    }
    RouteAnswer.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RouteAnswer.codec(), opts);
    }
    RouteAnswer.stream = stream;
})(RouteAnswer || (RouteAnswer = {}));
export var RoutePush;
(function (RoutePush) {
    let _codec;
    RoutePush.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.service != null && obj.service !== '')) {
                    w.uint32(10);
                    w.string(obj.service);
                }
                if (obj.instances != null && obj.instances.length > 0) {
                    for (const value of obj.instances) {
                        w.uint32(18);
                        RouteInstance.codec().encode(value, w);
                    }
                }
                if (obj.version != null) {
                    w.uint32(26);
                    RouteVersion.codec().encode(obj.version, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    service: '',
                    instances: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.service = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            if (opts.limits?.instances != null && obj.instances.length === opts.limits.instances) {
                                throw new MaxLengthError('Decode error - repeated field "instances" had too many elements');
                            }
                            obj.instances.push(RouteInstance.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.instances$
                            }));
                            break;
                        }
                        case 3: {
                            obj.version = RouteVersion.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.version
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    instances: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.service`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            if (opts.limits?.instances != null && obj.instances === opts.limits.instances) {
                                throw new MaxLengthError('Streaming decode error - repeated field "instances" had too many elements');
                            }
                            for (const evt of RouteInstance.codec().stream(reader, reader.uint32(), `${prefix}.instances[]`, {
                                limits: opts.limits?.instances$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.instances
                                };
                            }
                            obj.instances++;
                            break;
                        }
                        case 3: {
                            yield* RouteVersion.codec().stream(reader, reader.uint32(), `${prefix}.version`, {
                                limits: opts.limits?.version
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RoutePush.codec());
    }
    RoutePush.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RoutePush.codec(), opts);
    }
    RoutePush.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RoutePush.codec(), opts);
    }
    RoutePush.stream = stream;
})(RoutePush || (RoutePush = {}));
export var OverlayErrorCode;
(function (OverlayErrorCode) {
    OverlayErrorCode["OVERLAY_ERROR_UNSPECIFIED"] = "OVERLAY_ERROR_UNSPECIFIED";
    OverlayErrorCode["OVERLAY_DENIED"] = "OVERLAY_DENIED";
    OverlayErrorCode["OVERLAY_UNKNOWN_LEASE"] = "OVERLAY_UNKNOWN_LEASE";
    OverlayErrorCode["OVERLAY_BAD_FRAME"] = "OVERLAY_BAD_FRAME";
    OverlayErrorCode["OVERLAY_INTERNAL"] = "OVERLAY_INTERNAL";
})(OverlayErrorCode || (OverlayErrorCode = {}));
var __OverlayErrorCodeValues;
(function (__OverlayErrorCodeValues) {
    __OverlayErrorCodeValues[__OverlayErrorCodeValues["OVERLAY_ERROR_UNSPECIFIED"] = 0] = "OVERLAY_ERROR_UNSPECIFIED";
    __OverlayErrorCodeValues[__OverlayErrorCodeValues["OVERLAY_DENIED"] = 1] = "OVERLAY_DENIED";
    __OverlayErrorCodeValues[__OverlayErrorCodeValues["OVERLAY_UNKNOWN_LEASE"] = 2] = "OVERLAY_UNKNOWN_LEASE";
    __OverlayErrorCodeValues[__OverlayErrorCodeValues["OVERLAY_BAD_FRAME"] = 3] = "OVERLAY_BAD_FRAME";
    __OverlayErrorCodeValues[__OverlayErrorCodeValues["OVERLAY_INTERNAL"] = 4] = "OVERLAY_INTERNAL";
})(__OverlayErrorCodeValues || (__OverlayErrorCodeValues = {}));
(function (OverlayErrorCode) {
    OverlayErrorCode.codec = () => {
        return enumeration(__OverlayErrorCodeValues);
    };
})(OverlayErrorCode || (OverlayErrorCode = {}));
export var OverlayError;
(function (OverlayError) {
    let _codec;
    OverlayError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __OverlayErrorCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    OverlayErrorCode.codec().encode(obj.code, w);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    code: OverlayErrorCode.OVERLAY_ERROR_UNSPECIFIED,
                    message: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = OverlayErrorCode.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.message = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.code`,
                                value: OverlayErrorCode.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.message`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, OverlayError.codec());
    }
    OverlayError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, OverlayError.codec(), opts);
    }
    OverlayError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, OverlayError.codec(), opts);
    }
    OverlayError.stream = stream;
})(OverlayError || (OverlayError = {}));
export var YardEnvelope;
(function (YardEnvelope) {
    let _codec;
    YardEnvelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.error != null) {
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.logsReply != null) {
                    obj.error = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.logsRequest != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageLoaded != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageChunk != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageStatus != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageOffer != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                }
                if (obj.imageOffer != null) {
                    w.uint32(10);
                    ImageOffer.codec().encode(obj.imageOffer, w);
                }
                if (obj.imageStatus != null) {
                    w.uint32(18);
                    ImageStatus.codec().encode(obj.imageStatus, w);
                }
                if (obj.imageChunk != null) {
                    w.uint32(26);
                    ImageChunk.codec().encode(obj.imageChunk, w);
                }
                if (obj.imageLoaded != null) {
                    w.uint32(34);
                    ImageLoaded.codec().encode(obj.imageLoaded, w);
                }
                if (obj.logsRequest != null) {
                    w.uint32(42);
                    LogsRequest.codec().encode(obj.logsRequest, w);
                }
                if (obj.logsReply != null) {
                    w.uint32(50);
                    LogsReply.codec().encode(obj.logsReply, w);
                }
                if (obj.error != null) {
                    w.uint32(58);
                    YardError.codec().encode(obj.error, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.imageOffer = ImageOffer.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageOffer
                            });
                            break;
                        }
                        case 2: {
                            obj.imageStatus = ImageStatus.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageStatus
                            });
                            break;
                        }
                        case 3: {
                            obj.imageChunk = ImageChunk.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageChunk
                            });
                            break;
                        }
                        case 4: {
                            obj.imageLoaded = ImageLoaded.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageLoaded
                            });
                            break;
                        }
                        case 5: {
                            obj.logsRequest = LogsRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.logsRequest
                            });
                            break;
                        }
                        case 6: {
                            obj.logsReply = LogsReply.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.logsReply
                            });
                            break;
                        }
                        case 7: {
                            obj.error = YardError.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                if (obj.error != null) {
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.logsReply != null) {
                    delete obj.error;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.logsRequest != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.imageLoaded != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.imageChunk != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.imageStatus != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageOffer;
                }
                if (obj.imageOffer != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* ImageOffer.codec().stream(reader, reader.uint32(), `${prefix}.imageOffer`, {
                                limits: opts.limits?.imageOffer
                            });
                            break;
                        }
                        case 2: {
                            yield* ImageStatus.codec().stream(reader, reader.uint32(), `${prefix}.imageStatus`, {
                                limits: opts.limits?.imageStatus
                            });
                            break;
                        }
                        case 3: {
                            yield* ImageChunk.codec().stream(reader, reader.uint32(), `${prefix}.imageChunk`, {
                                limits: opts.limits?.imageChunk
                            });
                            break;
                        }
                        case 4: {
                            yield* ImageLoaded.codec().stream(reader, reader.uint32(), `${prefix}.imageLoaded`, {
                                limits: opts.limits?.imageLoaded
                            });
                            break;
                        }
                        case 5: {
                            yield* LogsRequest.codec().stream(reader, reader.uint32(), `${prefix}.logsRequest`, {
                                limits: opts.limits?.logsRequest
                            });
                            break;
                        }
                        case 6: {
                            yield* LogsReply.codec().stream(reader, reader.uint32(), `${prefix}.logsReply`, {
                                limits: opts.limits?.logsReply
                            });
                            break;
                        }
                        case 7: {
                            yield* YardError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, YardEnvelope.codec());
    }
    YardEnvelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, YardEnvelope.codec(), opts);
    }
    YardEnvelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, YardEnvelope.codec(), opts);
    }
    YardEnvelope.stream = stream;
})(YardEnvelope || (YardEnvelope = {}));
export var LeaseAccess;
(function (LeaseAccess) {
    let _codec;
    LeaseAccess.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if ((obj.expires != null && obj.expires !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.expires);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n,
                    expires: 0n,
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.leaseId = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.expires = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.signature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.leaseId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.expires`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.signature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LeaseAccess.codec());
    }
    LeaseAccess.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LeaseAccess.codec(), opts);
    }
    LeaseAccess.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LeaseAccess.codec(), opts);
    }
    LeaseAccess.stream = stream;
})(LeaseAccess || (LeaseAccess = {}));
export var ImageOffer;
(function (ImageOffer) {
    let _codec;
    ImageOffer.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    LeaseAccess.codec().encode(obj.access, w);
                }
                if ((obj.imageId != null && obj.imageId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.imageId);
                }
                if ((obj.tarSha256 != null && obj.tarSha256.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.tarSha256);
                }
                if ((obj.size != null && obj.size !== 0n)) {
                    w.uint32(32);
                    writeUint64(w, obj.size);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    imageId: uint8ArrayAlloc(0),
                    tarSha256: uint8ArrayAlloc(0),
                    size: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = LeaseAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            obj.imageId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.tarSha256 = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.size = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* LeaseAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.imageId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.tarSha256`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.size`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageOffer.codec());
    }
    ImageOffer.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageOffer.codec(), opts);
    }
    ImageOffer.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageOffer.codec(), opts);
    }
    ImageOffer.stream = stream;
})(ImageOffer || (ImageOffer = {}));
export var ImageStatus;
(function (ImageStatus) {
    let _codec;
    ImageStatus.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.present != null && obj.present !== false)) {
                    w.uint32(8);
                    w.bool(obj.present);
                }
                if ((obj.offset != null && obj.offset !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.offset);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    present: false,
                    offset: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.present = reader.bool();
                            break;
                        }
                        case 2: {
                            obj.offset = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.present`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.offset`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageStatus.codec());
    }
    ImageStatus.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageStatus.codec(), opts);
    }
    ImageStatus.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageStatus.codec(), opts);
    }
    ImageStatus.stream = stream;
})(ImageStatus || (ImageStatus = {}));
export var ImageChunk;
(function (ImageChunk) {
    let _codec;
    ImageChunk.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.offset != null && obj.offset !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.offset);
                }
                if ((obj.data != null && obj.data.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.data);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    offset: 0n,
                    data: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.offset = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.data = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.offset`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.data`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageChunk.codec());
    }
    ImageChunk.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageChunk.codec(), opts);
    }
    ImageChunk.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageChunk.codec(), opts);
    }
    ImageChunk.stream = stream;
})(ImageChunk || (ImageChunk = {}));
export var ImageLoaded;
(function (ImageLoaded) {
    let _codec;
    ImageLoaded.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.imageId != null && obj.imageId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.imageId);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    imageId: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.imageId = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.imageId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageLoaded.codec());
    }
    ImageLoaded.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageLoaded.codec(), opts);
    }
    ImageLoaded.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageLoaded.codec(), opts);
    }
    ImageLoaded.stream = stream;
})(ImageLoaded || (ImageLoaded = {}));
export var LogsRequest;
(function (LogsRequest) {
    let _codec;
    LogsRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    LeaseAccess.codec().encode(obj.access, w);
                }
                if ((obj.tail != null && obj.tail !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.tail);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    tail: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = LeaseAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            obj.tail = reader.uint32();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* LeaseAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.tail`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LogsRequest.codec());
    }
    LogsRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LogsRequest.codec(), opts);
    }
    LogsRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LogsRequest.codec(), opts);
    }
    LogsRequest.stream = stream;
})(LogsRequest || (LogsRequest = {}));
export var LogsReply;
(function (LogsReply) {
    let _codec;
    LogsReply.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.state != null && obj.state !== '')) {
                    w.uint32(10);
                    w.string(obj.state);
                }
                if ((obj.exitCode != null && obj.exitCode !== 0)) {
                    w.uint32(16);
                    w.int32(obj.exitCode);
                }
                if ((obj.oomKilled != null && obj.oomKilled !== false)) {
                    w.uint32(24);
                    w.bool(obj.oomKilled);
                }
                if ((obj.restarts != null && obj.restarts !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.restarts);
                }
                if ((obj.text != null && obj.text !== '')) {
                    w.uint32(42);
                    w.string(obj.text);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    state: '',
                    exitCode: 0,
                    oomKilled: false,
                    restarts: 0,
                    text: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.state = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.exitCode = reader.int32();
                            break;
                        }
                        case 3: {
                            obj.oomKilled = reader.bool();
                            break;
                        }
                        case 4: {
                            obj.restarts = reader.uint32();
                            break;
                        }
                        case 5: {
                            obj.text = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.state`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.exitCode`,
                                value: reader.int32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.oomKilled`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.restarts`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.text`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LogsReply.codec());
    }
    LogsReply.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LogsReply.codec(), opts);
    }
    LogsReply.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LogsReply.codec(), opts);
    }
    LogsReply.stream = stream;
})(LogsReply || (LogsReply = {}));
export var YardErrorCode;
(function (YardErrorCode) {
    YardErrorCode["YARD_ERROR_UNSPECIFIED"] = "YARD_ERROR_UNSPECIFIED";
    YardErrorCode["DENIED"] = "DENIED";
    YardErrorCode["UNKNOWN_LEASE"] = "UNKNOWN_LEASE";
    YardErrorCode["BAD_IMAGE"] = "BAD_IMAGE";
    YardErrorCode["BAD_FRAME"] = "BAD_FRAME";
    YardErrorCode["INTERNAL"] = "INTERNAL";
    YardErrorCode["BUSY"] = "BUSY";
})(YardErrorCode || (YardErrorCode = {}));
var __YardErrorCodeValues;
(function (__YardErrorCodeValues) {
    __YardErrorCodeValues[__YardErrorCodeValues["YARD_ERROR_UNSPECIFIED"] = 0] = "YARD_ERROR_UNSPECIFIED";
    __YardErrorCodeValues[__YardErrorCodeValues["DENIED"] = 1] = "DENIED";
    __YardErrorCodeValues[__YardErrorCodeValues["UNKNOWN_LEASE"] = 2] = "UNKNOWN_LEASE";
    __YardErrorCodeValues[__YardErrorCodeValues["BAD_IMAGE"] = 3] = "BAD_IMAGE";
    __YardErrorCodeValues[__YardErrorCodeValues["BAD_FRAME"] = 4] = "BAD_FRAME";
    __YardErrorCodeValues[__YardErrorCodeValues["INTERNAL"] = 5] = "INTERNAL";
    __YardErrorCodeValues[__YardErrorCodeValues["BUSY"] = 6] = "BUSY";
})(__YardErrorCodeValues || (__YardErrorCodeValues = {}));
(function (YardErrorCode) {
    YardErrorCode.codec = () => {
        return enumeration(__YardErrorCodeValues);
    };
})(YardErrorCode || (YardErrorCode = {}));
export var YardError;
(function (YardError) {
    let _codec;
    YardError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __YardErrorCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    YardErrorCode.codec().encode(obj.code, w);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    code: YardErrorCode.YARD_ERROR_UNSPECIFIED,
                    message: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = YardErrorCode.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.message = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.code`,
                                value: YardErrorCode.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.message`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, YardError.codec());
    }
    YardError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, YardError.codec(), opts);
    }
    YardError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, YardError.codec(), opts);
    }
    YardError.stream = stream;
})(YardError || (YardError = {}));
/** Strict UTF-8 for string fields (see scripts/generate.ts). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function readStrictString(reader) {
    return strictUtf8.decode(reader.bytes());
}
/** Workaround for protons-runtime's uint64 writer (see scripts/generate.ts). */
function writeUint64(w, v) {
    if (v <= 9007199254740991n)
        w.uint64Number(Number(v));
    else
        w.uint64(v);
}
