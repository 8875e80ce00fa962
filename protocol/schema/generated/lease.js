import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var Envelope;
(function (Envelope) {
    let _codec;
    Envelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.redeploy != null) {
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.terminate != null) {
                    obj.redeploy = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.failed != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.running != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.deploy != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.opened != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.reject != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.accept != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.counter != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.quote != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.rfq != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.capacityAnswer = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.capacityAnswer != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityQuery = undefined;
                }
                if (obj.capacityQuery != null) {
                    obj.redeploy = undefined;
                    obj.terminate = undefined;
                    obj.failed = undefined;
                    obj.running = undefined;
                    obj.deploy = undefined;
                    obj.opened = undefined;
                    obj.reject = undefined;
                    obj.accept = undefined;
                    obj.counter = undefined;
                    obj.quote = undefined;
                    obj.rfq = undefined;
                    obj.capacityAnswer = undefined;
                }
                if ((obj.requestId != null && obj.requestId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.requestId);
                }
                if (obj.capacityQuery != null) {
                    w.uint32(82);
                    CapacityQuery.codec().encode(obj.capacityQuery, w);
                }
                if (obj.capacityAnswer != null) {
                    w.uint32(90);
                    CapacityAnswer.codec().encode(obj.capacityAnswer, w);
                }
                if (obj.rfq != null) {
                    w.uint32(98);
                    Rfq.codec().encode(obj.rfq, w);
                }
                if (obj.quote != null) {
                    w.uint32(106);
                    Quote.codec().encode(obj.quote, w);
                }
                if (obj.counter != null) {
                    w.uint32(114);
                    Counter.codec().encode(obj.counter, w);
                }
                if (obj.accept != null) {
                    w.uint32(122);
                    Accept.codec().encode(obj.accept, w);
                }
                if (obj.reject != null) {
                    w.uint32(130);
                    Reject.codec().encode(obj.reject, w);
                }
                if (obj.opened != null) {
                    w.uint32(138);
                    Opened.codec().encode(obj.opened, w);
                }
                if (obj.deploy != null) {
                    w.uint32(146);
                    Deploy.codec().encode(obj.deploy, w);
                }
                if (obj.running != null) {
                    w.uint32(154);
                    Running.codec().encode(obj.running, w);
                }
                if (obj.failed != null) {
                    w.uint32(162);
                    Failed.codec().encode(obj.failed, w);
                }
                if (obj.terminate != null) {
                    w.uint32(170);
                    Terminate.codec().encode(obj.terminate, w);
                }
                if (obj.redeploy != null) {
                    w.uint32(178);
                    Redeploy.codec().encode(obj.redeploy, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    requestId: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.requestId = reader.bytes();
                            break;
                        }
                        case 10: {
                            obj.capacityQuery = CapacityQuery.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.capacityQuery
                            });
                            break;
                        }
                        case 11: {
                            obj.capacityAnswer = CapacityAnswer.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.capacityAnswer
                            });
                            break;
                        }
                        case 12: {
                            obj.rfq = Rfq.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.rfq
                            });
                            break;
                        }
                        case 13: {
                            obj.quote = Quote.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.quote
                            });
                            break;
                        }
                        case 14: {
                            obj.counter = Counter.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.counter
                            });
                            break;
                        }
                        case 15: {
                            obj.accept = Accept.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.accept
                            });
                            break;
                        }
                        case 16: {
                            obj.reject = Reject.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.reject
                            });
                            break;
                        }
                        case 17: {
                            obj.opened = Opened.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.opened
                            });
                            break;
                        }
                        case 18: {
                            obj.deploy = Deploy.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.deploy
                            });
                            break;
                        }
                        case 19: {
                            obj.running = Running.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.running
                            });
                            break;
                        }
                        case 20: {
                            obj.failed = Failed.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.failed
                            });
                            break;
                        }
                        case 21: {
                            obj.terminate = Terminate.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.terminate
                            });
                            break;
                        }
                        case 22: {
                            obj.redeploy = Redeploy.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.redeploy
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                if (obj.redeploy != null) {
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.terminate != null) {
                    delete obj.redeploy;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.failed != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.running != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.deploy != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.opened != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.reject != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.accept != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.counter != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.quote != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.rfq != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.capacityAnswer;
                    delete obj.capacityQuery;
                }
                if (obj.capacityAnswer != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityQuery;
                }
                if (obj.capacityQuery != null) {
                    delete obj.redeploy;
                    delete obj.terminate;
                    delete obj.failed;
                    delete obj.running;
                    delete obj.deploy;
                    delete obj.opened;
                    delete obj.reject;
                    delete obj.accept;
                    delete obj.counter;
                    delete obj.quote;
                    delete obj.rfq;
                    delete obj.capacityAnswer;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.requestId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 10: {
                            yield* CapacityQuery.codec().stream(reader, reader.uint32(), `${prefix}.capacityQuery`, {
                                limits: opts.limits?.capacityQuery
                            });
                            break;
                        }
                        case 11: {
                            yield* CapacityAnswer.codec().stream(reader, reader.uint32(), `${prefix}.capacityAnswer`, {
                                limits: opts.limits?.capacityAnswer
                            });
                            break;
                        }
                        case 12: {
                            yield* Rfq.codec().stream(reader, reader.uint32(), `${prefix}.rfq`, {
                                limits: opts.limits?.rfq
                            });
                            break;
                        }
                        case 13: {
                            yield* Quote.codec().stream(reader, reader.uint32(), `${prefix}.quote`, {
                                limits: opts.limits?.quote
                            });
                            break;
                        }
                        case 14: {
                            yield* Counter.codec().stream(reader, reader.uint32(), `${prefix}.counter`, {
                                limits: opts.limits?.counter
                            });
                            break;
                        }
                        case 15: {
                            yield* Accept.codec().stream(reader, reader.uint32(), `${prefix}.accept`, {
                                limits: opts.limits?.accept
                            });
                            break;
                        }
                        case 16: {
                            yield* Reject.codec().stream(reader, reader.uint32(), `${prefix}.reject`, {
                                limits: opts.limits?.reject
                            });
                            break;
                        }
                        case 17: {
                            yield* Opened.codec().stream(reader, reader.uint32(), `${prefix}.opened`, {
                                limits: opts.limits?.opened
                            });
                            break;
                        }
                        case 18: {
                            yield* Deploy.codec().stream(reader, reader.uint32(), `${prefix}.deploy`, {
                                limits: opts.limits?.deploy
                            });
                            break;
                        }
                        case 19: {
                            yield* Running.codec().stream(reader, reader.uint32(), `${prefix}.running`, {
                                limits: opts.limits?.running
                            });
                            break;
                        }
                        case 20: {
                            yield* Failed.codec().stream(reader, reader.uint32(), `${prefix}.failed`, {
                                limits: opts.limits?.failed
                            });
                            break;
                        }
                        case 21: {
                            yield* Terminate.codec().stream(reader, reader.uint32(), `${prefix}.terminate`, {
                                limits: opts.limits?.terminate
                            });
                            break;
                        }
                        case 22: {
                            yield* Redeploy.codec().stream(reader, reader.uint32(), `${prefix}.redeploy`, {
                                limits: opts.limits?.redeploy
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
        return encodeMessage(obj, Envelope.codec());
    }
    Envelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Envelope.codec(), opts);
    }
    Envelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Envelope.codec(), opts);
    }
    Envelope.stream = stream;
})(Envelope || (Envelope = {}));
export var CapacityQuery;
(function (CapacityQuery) {
    let _codec;
    CapacityQuery.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.rttTargets != null && obj.rttTargets.length > 0) {
                    for (const value of obj.rttTargets) {
                        w.uint32(10);
                        RttTarget.codec().encode(value, w);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    rttTargets: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.rttTargets != null && obj.rttTargets.length === opts.limits.rttTargets) {
                                throw new MaxLengthError('Decode error - repeated field "rttTargets" had too many elements');
                            }
                            obj.rttTargets.push(RttTarget.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.rttTargets$
                            }));
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
                    rttTargets: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.rttTargets != null && obj.rttTargets === opts.limits.rttTargets) {
                                throw new MaxLengthError('Streaming decode error - repeated field "rttTargets" had too many elements');
                            }
                            for (const evt of RttTarget.codec().stream(reader, reader.uint32(), `${prefix}.rttTargets[]`, {
                                limits: opts.limits?.rttTargets$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.rttTargets
                                };
                            }
                            obj.rttTargets++;
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
        return encodeMessage(obj, CapacityQuery.codec());
    }
    CapacityQuery.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, CapacityQuery.codec(), opts);
    }
    CapacityQuery.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, CapacityQuery.codec(), opts);
    }
    CapacityQuery.stream = stream;
})(CapacityQuery || (CapacityQuery = {}));
export var RttTarget;
(function (RttTarget) {
    let _codec;
    RttTarget.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.subnet != null && obj.subnet !== '')) {
                    w.uint32(10);
                    w.string(obj.subnet);
                }
                if ((obj.target != null && obj.target !== '')) {
                    w.uint32(18);
                    w.string(obj.target);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    subnet: '',
                    target: ''
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
                            obj.target = readStrictString(reader);
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
                                field: `${prefix}.target`,
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
        return encodeMessage(obj, RttTarget.codec());
    }
    RttTarget.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RttTarget.codec(), opts);
    }
    RttTarget.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RttTarget.codec(), opts);
    }
    RttTarget.stream = stream;
})(RttTarget || (RttTarget = {}));
export var CapacityAnswer;
(function (CapacityAnswer) {
    let _codec;
    CapacityAnswer.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.cpuMillisFree != null && obj.cpuMillisFree !== 0)) {
                    w.uint32(8);
                    w.uint32(obj.cpuMillisFree);
                }
                if ((obj.memoryMibFree != null && obj.memoryMibFree !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.memoryMibFree);
                }
                if ((obj.cpuPricePerSecond != null && obj.cpuPricePerSecond.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.cpuPricePerSecond);
                }
                if ((obj.memoryPricePerSecond != null && obj.memoryPricePerSecond.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.memoryPricePerSecond);
                }
                if ((obj.region != null && obj.region !== '')) {
                    w.uint32(42);
                    w.string(obj.region);
                }
                if (obj.binding != null) {
                    w.uint32(50);
                    PeerBinding.codec().encode(obj.binding, w);
                }
                if (obj.rtt != null) {
                    w.uint32(58);
                    RttReport.codec().encode(obj.rtt, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    cpuMillisFree: 0,
                    memoryMibFree: 0,
                    cpuPricePerSecond: uint8ArrayAlloc(0),
                    memoryPricePerSecond: uint8ArrayAlloc(0),
                    region: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.cpuMillisFree = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.memoryMibFree = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.cpuPricePerSecond = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.memoryPricePerSecond = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.region = readStrictString(reader);
                            break;
                        }
                        case 6: {
                            obj.binding = PeerBinding.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.binding
                            });
                            break;
                        }
                        case 7: {
                            obj.rtt = RttReport.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.rtt
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
                            yield {
                                field: `${prefix}.cpuMillisFree`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.memoryMibFree`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.cpuPricePerSecond`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.memoryPricePerSecond`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.region`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 6: {
                            yield* PeerBinding.codec().stream(reader, reader.uint32(), `${prefix}.binding`, {
                                limits: opts.limits?.binding
                            });
                            break;
                        }
                        case 7: {
                            yield* RttReport.codec().stream(reader, reader.uint32(), `${prefix}.rtt`, {
                                limits: opts.limits?.rtt
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
        return encodeMessage(obj, CapacityAnswer.codec());
    }
    CapacityAnswer.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, CapacityAnswer.codec(), opts);
    }
    CapacityAnswer.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, CapacityAnswer.codec(), opts);
    }
    CapacityAnswer.stream = stream;
})(CapacityAnswer || (CapacityAnswer = {}));
export var RttStatus;
(function (RttStatus) {
    RttStatus["RTT_UNSPECIFIED"] = "RTT_UNSPECIFIED";
    RttStatus["RTT_MEASURED"] = "RTT_MEASURED";
    RttStatus["RTT_OVER_BUDGET"] = "RTT_OVER_BUDGET";
    RttStatus["RTT_DISABLED"] = "RTT_DISABLED";
    RttStatus["RTT_FAILED"] = "RTT_FAILED";
})(RttStatus || (RttStatus = {}));
var __RttStatusValues;
(function (__RttStatusValues) {
    __RttStatusValues[__RttStatusValues["RTT_UNSPECIFIED"] = 0] = "RTT_UNSPECIFIED";
    __RttStatusValues[__RttStatusValues["RTT_MEASURED"] = 1] = "RTT_MEASURED";
    __RttStatusValues[__RttStatusValues["RTT_OVER_BUDGET"] = 2] = "RTT_OVER_BUDGET";
    __RttStatusValues[__RttStatusValues["RTT_DISABLED"] = 3] = "RTT_DISABLED";
    __RttStatusValues[__RttStatusValues["RTT_FAILED"] = 4] = "RTT_FAILED";
})(__RttStatusValues || (__RttStatusValues = {}));
(function (RttStatus) {
    RttStatus.codec = () => {
        return enumeration(__RttStatusValues);
    };
})(RttStatus || (RttStatus = {}));
export var RttFigure;
(function (RttFigure) {
    let _codec;
    RttFigure.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.subnet != null && obj.subnet !== '')) {
                    w.uint32(10);
                    w.string(obj.subnet);
                }
                if ((obj.target != null && obj.target !== '')) {
                    w.uint32(18);
                    w.string(obj.target);
                }
                if (obj.rttUs != null) {
                    w.uint32(24);
                    w.uint32(obj.rttUs);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    subnet: '',
                    target: ''
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
                            obj.target = readStrictString(reader);
                            break;
                        }
                        case 3: {
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
                                field: `${prefix}.target`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 3: {
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
        return encodeMessage(obj, RttFigure.codec());
    }
    RttFigure.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RttFigure.codec(), opts);
    }
    RttFigure.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RttFigure.codec(), opts);
    }
    RttFigure.stream = stream;
})(RttFigure || (RttFigure = {}));
export var RttReport;
(function (RttReport) {
    let _codec;
    RttReport.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.status != null && __RttStatusValues[obj.status] !== 0) {
                    w.uint32(8);
                    RttStatus.codec().encode(obj.status, w);
                }
                if ((obj.at != null && obj.at !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.at);
                }
                if ((obj.peer != null && obj.peer.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.peer);
                }
                if (obj.figures != null && obj.figures.length > 0) {
                    for (const value of obj.figures) {
                        w.uint32(34);
                        RttFigure.codec().encode(value, w);
                    }
                }
                if ((obj.yard != null && obj.yard.byteLength > 0)) {
                    w.uint32(42);
                    w.bytes(obj.yard);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(50);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    status: RttStatus.RTT_UNSPECIFIED,
                    at: 0n,
                    peer: uint8ArrayAlloc(0),
                    figures: [],
                    yard: uint8ArrayAlloc(0),
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.status = RttStatus.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.at = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.peer = reader.bytes();
                            break;
                        }
                        case 4: {
                            if (opts.limits?.figures != null && obj.figures.length === opts.limits.figures) {
                                throw new MaxLengthError('Decode error - repeated field "figures" had too many elements');
                            }
                            obj.figures.push(RttFigure.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.figures$
                            }));
                            break;
                        }
                        case 5: {
                            obj.yard = reader.bytes();
                            break;
                        }
                        case 6: {
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
                const obj = {
                    figures: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.status`,
                                value: RttStatus.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.at`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.peer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            if (opts.limits?.figures != null && obj.figures === opts.limits.figures) {
                                throw new MaxLengthError('Streaming decode error - repeated field "figures" had too many elements');
                            }
                            for (const evt of RttFigure.codec().stream(reader, reader.uint32(), `${prefix}.figures[]`, {
                                limits: opts.limits?.figures$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.figures
                                };
                            }
                            obj.figures++;
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.yard`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 6: {
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
        return encodeMessage(obj, RttReport.codec());
    }
    RttReport.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RttReport.codec(), opts);
    }
    RttReport.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RttReport.codec(), opts);
    }
    RttReport.stream = stream;
})(RttReport || (RttReport = {}));
export var PeerBinding;
(function (PeerBinding) {
    let _codec;
    PeerBinding.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.operator != null && obj.operator.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.operator);
                }
                if ((obj.chainId != null && obj.chainId !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.chainId);
                }
                if ((obj.registry != null && obj.registry.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.registry);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    operator: uint8ArrayAlloc(0),
                    chainId: 0n,
                    registry: uint8ArrayAlloc(0),
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.operator = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.chainId = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.registry = reader.bytes();
                            break;
                        }
                        case 4: {
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
                                field: `${prefix}.operator`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.chainId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.registry`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
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
        return encodeMessage(obj, PeerBinding.codec());
    }
    PeerBinding.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, PeerBinding.codec(), opts);
    }
    PeerBinding.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, PeerBinding.codec(), opts);
    }
    PeerBinding.stream = stream;
})(PeerBinding || (PeerBinding = {}));
export var Rfq;
(function (Rfq) {
    let _codec;
    Rfq.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.cpuMillis != null && obj.cpuMillis !== 0)) {
                    w.uint32(8);
                    w.uint32(obj.cpuMillis);
                }
                if ((obj.memoryMib != null && obj.memoryMib !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.memoryMib);
                }
                if ((obj.slotSeconds != null && obj.slotSeconds !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.slotSeconds);
                }
                if ((obj.earliestStart != null && obj.earliestStart !== 0n)) {
                    w.uint32(32);
                    writeUint64(w, obj.earliestStart);
                }
                if ((obj.maxPricePerSecond != null && obj.maxPricePerSecond.byteLength > 0)) {
                    w.uint32(42);
                    w.bytes(obj.maxPricePerSecond);
                }
                if ((obj.imageRef != null && obj.imageRef !== '')) {
                    w.uint32(50);
                    w.string(obj.imageRef);
                }
                if ((obj.imageDigest != null && obj.imageDigest.byteLength > 0)) {
                    w.uint32(58);
                    w.bytes(obj.imageDigest);
                }
                if ((obj.tenantAccount != null && obj.tenantAccount !== 0n)) {
                    w.uint32(64);
                    writeUint64(w, obj.tenantAccount);
                }
                if ((obj.renewsLeaseId != null && obj.renewsLeaseId !== 0n)) {
                    w.uint32(72);
                    writeUint64(w, obj.renewsLeaseId);
                }
                if (obj.proof != null) {
                    w.uint32(82);
                    RfqProof.codec().encode(obj.proof, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    cpuMillis: 0,
                    memoryMib: 0,
                    slotSeconds: 0,
                    earliestStart: 0n,
                    maxPricePerSecond: uint8ArrayAlloc(0),
                    imageRef: '',
                    imageDigest: uint8ArrayAlloc(0),
                    tenantAccount: 0n,
                    renewsLeaseId: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.cpuMillis = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.memoryMib = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.slotSeconds = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.earliestStart = reader.uint64();
                            break;
                        }
                        case 5: {
                            obj.maxPricePerSecond = reader.bytes();
                            break;
                        }
                        case 6: {
                            obj.imageRef = readStrictString(reader);
                            break;
                        }
                        case 7: {
                            obj.imageDigest = reader.bytes();
                            break;
                        }
                        case 8: {
                            obj.tenantAccount = reader.uint64();
                            break;
                        }
                        case 9: {
                            obj.renewsLeaseId = reader.uint64();
                            break;
                        }
                        case 10: {
                            obj.proof = RfqProof.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.proof
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
                            yield {
                                field: `${prefix}.cpuMillis`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.memoryMib`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.slotSeconds`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.earliestStart`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.maxPricePerSecond`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.imageRef`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.imageDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.tenantAccount`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.renewsLeaseId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 10: {
                            yield* RfqProof.codec().stream(reader, reader.uint32(), `${prefix}.proof`, {
                                limits: opts.limits?.proof
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
        return encodeMessage(obj, Rfq.codec());
    }
    Rfq.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Rfq.codec(), opts);
    }
    Rfq.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Rfq.codec(), opts);
    }
    Rfq.stream = stream;
})(Rfq || (Rfq = {}));
export var RfqProof;
(function (RfqProof) {
    let _codec;
    RfqProof.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.signer != null && obj.signer.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.signer);
                }
                if ((obj.chainId != null && obj.chainId !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.chainId);
                }
                if ((obj.market != null && obj.market.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.market);
                }
                if ((obj.peerId != null && obj.peerId.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.peerId);
                }
                if ((obj.expiry != null && obj.expiry !== 0n)) {
                    w.uint32(40);
                    writeUint64(w, obj.expiry);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(50);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    signer: uint8ArrayAlloc(0),
                    chainId: 0n,
                    market: uint8ArrayAlloc(0),
                    peerId: uint8ArrayAlloc(0),
                    expiry: 0n,
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.signer = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.chainId = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.market = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.peerId = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.expiry = reader.uint64();
                            break;
                        }
                        case 6: {
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
                                field: `${prefix}.signer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.chainId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.market`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.peerId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.expiry`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 6: {
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
        return encodeMessage(obj, RfqProof.codec());
    }
    RfqProof.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RfqProof.codec(), opts);
    }
    RfqProof.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RfqProof.codec(), opts);
    }
    RfqProof.stream = stream;
})(RfqProof || (RfqProof = {}));
export var Quote;
(function (Quote) {
    let _codec;
    Quote.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.offer != null) {
                    w.uint32(10);
                    Offer.codec().encode(obj.offer, w);
                }
                if ((obj.providerSignature != null && obj.providerSignature.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.providerSignature);
                }
                if ((obj.round != null && obj.round !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.round);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    providerSignature: uint8ArrayAlloc(0),
                    round: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.offer = Offer.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.offer
                            });
                            break;
                        }
                        case 2: {
                            obj.providerSignature = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.round = reader.uint32();
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
                            yield* Offer.codec().stream(reader, reader.uint32(), `${prefix}.offer`, {
                                limits: opts.limits?.offer
                            });
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.providerSignature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.round`,
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
        return encodeMessage(obj, Quote.codec());
    }
    Quote.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Quote.codec(), opts);
    }
    Quote.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Quote.codec(), opts);
    }
    Quote.stream = stream;
})(Quote || (Quote = {}));
export var Offer;
(function (Offer) {
    let _codec;
    Offer.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.provider != null && obj.provider.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.provider);
                }
                if ((obj.account != null && obj.account !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.account);
                }
                if ((obj.token != null && obj.token.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.token);
                }
                if ((obj.pricePerSecond != null && obj.pricePerSecond.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.pricePerSecond);
                }
                if ((obj.cpuMillis != null && obj.cpuMillis !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.cpuMillis);
                }
                if ((obj.memoryMib != null && obj.memoryMib !== 0)) {
                    w.uint32(48);
                    w.uint32(obj.memoryMib);
                }
                if ((obj.start != null && obj.start !== 0n)) {
                    w.uint32(56);
                    writeUint64(w, obj.start);
                }
                if ((obj.end != null && obj.end !== 0n)) {
                    w.uint32(64);
                    writeUint64(w, obj.end);
                }
                if ((obj.specHash != null && obj.specHash.byteLength > 0)) {
                    w.uint32(74);
                    w.bytes(obj.specHash);
                }
                if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
                    w.uint32(82);
                    w.bytes(obj.nonce);
                }
                if ((obj.deadline != null && obj.deadline !== 0n)) {
                    w.uint32(88);
                    writeUint64(w, obj.deadline);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    provider: uint8ArrayAlloc(0),
                    account: 0n,
                    token: uint8ArrayAlloc(0),
                    pricePerSecond: uint8ArrayAlloc(0),
                    cpuMillis: 0,
                    memoryMib: 0,
                    start: 0n,
                    end: 0n,
                    specHash: uint8ArrayAlloc(0),
                    nonce: uint8ArrayAlloc(0),
                    deadline: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.provider = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.account = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.token = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.pricePerSecond = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.cpuMillis = reader.uint32();
                            break;
                        }
                        case 6: {
                            obj.memoryMib = reader.uint32();
                            break;
                        }
                        case 7: {
                            obj.start = reader.uint64();
                            break;
                        }
                        case 8: {
                            obj.end = reader.uint64();
                            break;
                        }
                        case 9: {
                            obj.specHash = reader.bytes();
                            break;
                        }
                        case 10: {
                            obj.nonce = reader.bytes();
                            break;
                        }
                        case 11: {
                            obj.deadline = reader.uint64();
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
                                field: `${prefix}.provider`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.account`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.token`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.pricePerSecond`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.cpuMillis`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.memoryMib`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.start`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.end`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.specHash`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 10: {
                            yield {
                                field: `${prefix}.nonce`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.deadline`,
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
        return encodeMessage(obj, Offer.codec());
    }
    Offer.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Offer.codec(), opts);
    }
    Offer.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Offer.codec(), opts);
    }
    Offer.stream = stream;
})(Offer || (Offer = {}));
export var Counter;
(function (Counter) {
    let _codec;
    Counter.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.pricePerSecond != null && obj.pricePerSecond.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.pricePerSecond);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    pricePerSecond: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.pricePerSecond = reader.bytes();
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
                                field: `${prefix}.pricePerSecond`,
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
        return encodeMessage(obj, Counter.codec());
    }
    Counter.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Counter.codec(), opts);
    }
    Counter.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Counter.codec(), opts);
    }
    Counter.stream = stream;
})(Counter || (Counter = {}));
export var Accept;
(function (Accept) {
    let _codec;
    Accept.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.tenantSignature != null && obj.tenantSignature.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.tenantSignature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    tenantSignature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.tenantSignature = reader.bytes();
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
                                field: `${prefix}.tenantSignature`,
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
        return encodeMessage(obj, Accept.codec());
    }
    Accept.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Accept.codec(), opts);
    }
    Accept.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Accept.codec(), opts);
    }
    Accept.stream = stream;
})(Accept || (Accept = {}));
export var RejectCode;
(function (RejectCode) {
    RejectCode["REJECT_UNSPECIFIED"] = "REJECT_UNSPECIFIED";
    RejectCode["NO_CAPACITY"] = "NO_CAPACITY";
    RejectCode["PRICE_BELOW_FLOOR"] = "PRICE_BELOW_FLOOR";
    RejectCode["UNKNOWN_IMAGE"] = "UNKNOWN_IMAGE";
    RejectCode["BUDGET_TOO_SMALL"] = "BUDGET_TOO_SMALL";
    RejectCode["BAD_REQUEST"] = "BAD_REQUEST";
    RejectCode["BAD_SIGNATURE"] = "BAD_SIGNATURE";
    RejectCode["TOO_MANY_ROUNDS"] = "TOO_MANY_ROUNDS";
    RejectCode["RATE_LIMITED"] = "RATE_LIMITED";
    RejectCode["UNSUPPORTED"] = "UNSUPPORTED";
    RejectCode["CHAIN_REFUSED"] = "CHAIN_REFUSED";
    RejectCode["EXPIRED"] = "EXPIRED";
    RejectCode["INTERNAL"] = "INTERNAL";
})(RejectCode || (RejectCode = {}));
var __RejectCodeValues;
(function (__RejectCodeValues) {
    __RejectCodeValues[__RejectCodeValues["REJECT_UNSPECIFIED"] = 0] = "REJECT_UNSPECIFIED";
    __RejectCodeValues[__RejectCodeValues["NO_CAPACITY"] = 1] = "NO_CAPACITY";
    __RejectCodeValues[__RejectCodeValues["PRICE_BELOW_FLOOR"] = 2] = "PRICE_BELOW_FLOOR";
    __RejectCodeValues[__RejectCodeValues["UNKNOWN_IMAGE"] = 3] = "UNKNOWN_IMAGE";
    __RejectCodeValues[__RejectCodeValues["BUDGET_TOO_SMALL"] = 4] = "BUDGET_TOO_SMALL";
    __RejectCodeValues[__RejectCodeValues["BAD_REQUEST"] = 5] = "BAD_REQUEST";
    __RejectCodeValues[__RejectCodeValues["BAD_SIGNATURE"] = 6] = "BAD_SIGNATURE";
    __RejectCodeValues[__RejectCodeValues["TOO_MANY_ROUNDS"] = 7] = "TOO_MANY_ROUNDS";
    __RejectCodeValues[__RejectCodeValues["RATE_LIMITED"] = 8] = "RATE_LIMITED";
    __RejectCodeValues[__RejectCodeValues["UNSUPPORTED"] = 9] = "UNSUPPORTED";
    __RejectCodeValues[__RejectCodeValues["CHAIN_REFUSED"] = 10] = "CHAIN_REFUSED";
    __RejectCodeValues[__RejectCodeValues["EXPIRED"] = 11] = "EXPIRED";
    __RejectCodeValues[__RejectCodeValues["INTERNAL"] = 12] = "INTERNAL";
})(__RejectCodeValues || (__RejectCodeValues = {}));
(function (RejectCode) {
    RejectCode.codec = () => {
        return enumeration(__RejectCodeValues);
    };
})(RejectCode || (RejectCode = {}));
export var Reject;
(function (Reject) {
    let _codec;
    Reject.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __RejectCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    RejectCode.codec().encode(obj.code, w);
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
                    code: RejectCode.REJECT_UNSPECIFIED,
                    message: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = RejectCode.codec().decode(reader);
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
                                value: RejectCode.codec().decode(reader)
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
        return encodeMessage(obj, Reject.codec());
    }
    Reject.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Reject.codec(), opts);
    }
    Reject.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Reject.codec(), opts);
    }
    Reject.stream = stream;
})(Reject || (Reject = {}));
export var Opened;
(function (Opened) {
    let _codec;
    Opened.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if ((obj.txHash != null && obj.txHash.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.txHash);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n,
                    txHash: uint8ArrayAlloc(0)
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
                            obj.txHash = reader.bytes();
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
                                field: `${prefix}.txHash`,
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
        return encodeMessage(obj, Opened.codec());
    }
    Opened.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Opened.codec(), opts);
    }
    Opened.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Opened.codec(), opts);
    }
    Opened.stream = stream;
})(Opened || (Opened = {}));
export var Deploy;
(function (Deploy) {
    let _codec;
    Deploy.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if ((obj.imageRef != null && obj.imageRef !== '')) {
                    w.uint32(18);
                    w.string(obj.imageRef);
                }
                if ((obj.imageDigest != null && obj.imageDigest.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.imageDigest);
                }
                if (obj.command != null && obj.command.length > 0) {
                    for (const value of obj.command) {
                        w.uint32(34);
                        w.string(value);
                    }
                }
                if (obj.env != null && obj.env.length > 0) {
                    for (const value of obj.env) {
                        w.uint32(42);
                        w.string(value);
                    }
                }
                if (obj.ports != null && obj.ports.length > 0) {
                    for (const value of obj.ports) {
                        w.uint32(48);
                        w.uint32(value);
                    }
                }
                if ((obj.service != null && obj.service !== '')) {
                    w.uint32(58);
                    w.string(obj.service);
                }
                if (obj.httpPorts != null && obj.httpPorts.length > 0) {
                    for (const value of obj.httpPorts) {
                        w.uint32(64);
                        w.uint32(value);
                    }
                }
                if (obj.allow != null && obj.allow.length > 0) {
                    for (const value of obj.allow) {
                        w.uint32(74);
                        w.string(value);
                    }
                }
                if (obj.udpPorts != null && obj.udpPorts.length > 0) {
                    for (const value of obj.udpPorts) {
                        w.uint32(80);
                        w.uint32(value);
                    }
                }
                if (obj.agent != null) {
                    w.uint32(90);
                    AgentPart.codec().encode(obj.agent, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n,
                    imageRef: '',
                    imageDigest: uint8ArrayAlloc(0),
                    command: [],
                    env: [],
                    ports: [],
                    service: '',
                    httpPorts: [],
                    allow: [],
                    udpPorts: []
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
                            obj.imageRef = readStrictString(reader);
                            break;
                        }
                        case 3: {
                            obj.imageDigest = reader.bytes();
                            break;
                        }
                        case 4: {
                            if (opts.limits?.command != null && obj.command.length === opts.limits.command) {
                                throw new MaxLengthError('Decode error - repeated field "command" had too many elements');
                            }
                            obj.command.push(readStrictString(reader));
                            break;
                        }
                        case 5: {
                            if (opts.limits?.env != null && obj.env.length === opts.limits.env) {
                                throw new MaxLengthError('Decode error - repeated field "env" had too many elements');
                            }
                            obj.env.push(readStrictString(reader));
                            break;
                        }
                        case 6: {
                            if (opts.limits?.ports != null && obj.ports.length === opts.limits.ports) {
                                throw new MaxLengthError('Decode error - repeated field "ports" had too many elements');
                            }
                            obj.ports.push(reader.uint32());
                            break;
                        }
                        case 7: {
                            obj.service = readStrictString(reader);
                            break;
                        }
                        case 8: {
                            if (opts.limits?.httpPorts != null && obj.httpPorts.length === opts.limits.httpPorts) {
                                throw new MaxLengthError('Decode error - repeated field "httpPorts" had too many elements');
                            }
                            obj.httpPorts.push(reader.uint32());
                            break;
                        }
                        case 9: {
                            if (opts.limits?.allow != null && obj.allow.length === opts.limits.allow) {
                                throw new MaxLengthError('Decode error - repeated field "allow" had too many elements');
                            }
                            obj.allow.push(readStrictString(reader));
                            break;
                        }
                        case 10: {
                            if (opts.limits?.udpPorts != null && obj.udpPorts.length === opts.limits.udpPorts) {
                                throw new MaxLengthError('Decode error - repeated field "udpPorts" had too many elements');
                            }
                            obj.udpPorts.push(reader.uint32());
                            break;
                        }
                        case 11: {
                            obj.agent = AgentPart.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.agent
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
                    command: 0,
                    env: 0,
                    ports: 0,
                    httpPorts: 0,
                    allow: 0,
                    udpPorts: 0
                };
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
                                field: `${prefix}.imageRef`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.imageDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            if (opts.limits?.command != null && obj.command === opts.limits.command) {
                                throw new MaxLengthError('Streaming decode error - repeated field "command" had too many elements');
                            }
                            yield {
                                field: `${prefix}.command[]`,
                                index: obj.command,
                                value: readStrictString(reader)
                            };
                            obj.command++;
                            break;
                        }
                        case 5: {
                            if (opts.limits?.env != null && obj.env === opts.limits.env) {
                                throw new MaxLengthError('Streaming decode error - repeated field "env" had too many elements');
                            }
                            yield {
                                field: `${prefix}.env[]`,
                                index: obj.env,
                                value: readStrictString(reader)
                            };
                            obj.env++;
                            break;
                        }
                        case 6: {
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
                        case 7: {
                            yield {
                                field: `${prefix}.service`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 8: {
                            if (opts.limits?.httpPorts != null && obj.httpPorts === opts.limits.httpPorts) {
                                throw new MaxLengthError('Streaming decode error - repeated field "httpPorts" had too many elements');
                            }
                            yield {
                                field: `${prefix}.httpPorts[]`,
                                index: obj.httpPorts,
                                value: reader.uint32()
                            };
                            obj.httpPorts++;
                            break;
                        }
                        case 9: {
                            if (opts.limits?.allow != null && obj.allow === opts.limits.allow) {
                                throw new MaxLengthError('Streaming decode error - repeated field "allow" had too many elements');
                            }
                            yield {
                                field: `${prefix}.allow[]`,
                                index: obj.allow,
                                value: readStrictString(reader)
                            };
                            obj.allow++;
                            break;
                        }
                        case 10: {
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
                        case 11: {
                            yield* AgentPart.codec().stream(reader, reader.uint32(), `${prefix}.agent`, {
                                limits: opts.limits?.agent
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
        return encodeMessage(obj, Deploy.codec());
    }
    Deploy.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Deploy.codec(), opts);
    }
    Deploy.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Deploy.codec(), opts);
    }
    Deploy.stream = stream;
})(Deploy || (Deploy = {}));
export var AgentPart;
(function (AgentPart) {
    let _codec;
    AgentPart.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.imageRef != null && obj.imageRef !== '')) {
                    w.uint32(10);
                    w.string(obj.imageRef);
                }
                if ((obj.imageDigest != null && obj.imageDigest.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.imageDigest);
                }
                if (obj.command != null && obj.command.length > 0) {
                    for (const value of obj.command) {
                        w.uint32(26);
                        w.string(value);
                    }
                }
                if ((obj.cpuMillis != null && obj.cpuMillis !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.cpuMillis);
                }
                if ((obj.memoryMib != null && obj.memoryMib !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.memoryMib);
                }
                if ((obj.secret != null && obj.secret.byteLength > 0)) {
                    w.uint32(50);
                    w.bytes(obj.secret);
                }
                if ((obj.once != null && obj.once !== false)) {
                    w.uint32(56);
                    w.bool(obj.once);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    imageRef: '',
                    imageDigest: uint8ArrayAlloc(0),
                    command: [],
                    cpuMillis: 0,
                    memoryMib: 0,
                    secret: uint8ArrayAlloc(0),
                    once: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.imageRef = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.imageDigest = reader.bytes();
                            break;
                        }
                        case 3: {
                            if (opts.limits?.command != null && obj.command.length === opts.limits.command) {
                                throw new MaxLengthError('Decode error - repeated field "command" had too many elements');
                            }
                            obj.command.push(readStrictString(reader));
                            break;
                        }
                        case 4: {
                            obj.cpuMillis = reader.uint32();
                            break;
                        }
                        case 5: {
                            obj.memoryMib = reader.uint32();
                            break;
                        }
                        case 6: {
                            obj.secret = reader.bytes();
                            break;
                        }
                        case 7: {
                            obj.once = reader.bool();
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
                    command: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.imageRef`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.imageDigest`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            if (opts.limits?.command != null && obj.command === opts.limits.command) {
                                throw new MaxLengthError('Streaming decode error - repeated field "command" had too many elements');
                            }
                            yield {
                                field: `${prefix}.command[]`,
                                index: obj.command,
                                value: readStrictString(reader)
                            };
                            obj.command++;
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.cpuMillis`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.memoryMib`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.secret`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.once`,
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
        return encodeMessage(obj, AgentPart.codec());
    }
    AgentPart.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, AgentPart.codec(), opts);
    }
    AgentPart.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, AgentPart.codec(), opts);
    }
    AgentPart.stream = stream;
})(AgentPart || (AgentPart = {}));
export var Redeploy;
(function (Redeploy) {
    let _codec;
    Redeploy.codec = () => {
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
                if (obj.deploy != null) {
                    w.uint32(34);
                    Deploy.codec().encode(obj.deploy, w);
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
                        case 4: {
                            obj.deploy = Deploy.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.deploy
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
                        case 4: {
                            yield* Deploy.codec().stream(reader, reader.uint32(), `${prefix}.deploy`, {
                                limits: opts.limits?.deploy
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
        return encodeMessage(obj, Redeploy.codec());
    }
    Redeploy.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Redeploy.codec(), opts);
    }
    Redeploy.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Redeploy.codec(), opts);
    }
    Redeploy.stream = stream;
})(Redeploy || (Redeploy = {}));
export var Running;
(function (Running) {
    let _codec;
    Running.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if ((obj.endpoint != null && obj.endpoint !== '')) {
                    w.uint32(18);
                    w.string(obj.endpoint);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n,
                    endpoint: ''
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
                            obj.endpoint = readStrictString(reader);
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
                                field: `${prefix}.endpoint`,
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
        return encodeMessage(obj, Running.codec());
    }
    Running.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Running.codec(), opts);
    }
    Running.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Running.codec(), opts);
    }
    Running.stream = stream;
})(Running || (Running = {}));
export var Failed;
(function (Failed) {
    let _codec;
    Failed.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
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
                    leaseId: 0n,
                    message: ''
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
                                field: `${prefix}.leaseId`,
                                value: reader.uint64()
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
        return encodeMessage(obj, Failed.codec());
    }
    Failed.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Failed.codec(), opts);
    }
    Failed.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Failed.codec(), opts);
    }
    Failed.stream = stream;
})(Failed || (Failed = {}));
export var Terminate;
(function (Terminate) {
    let _codec;
    Terminate.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.leaseId = reader.uint64();
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
        return encodeMessage(obj, Terminate.codec());
    }
    Terminate.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Terminate.codec(), opts);
    }
    Terminate.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Terminate.codec(), opts);
    }
    Terminate.stream = stream;
})(Terminate || (Terminate = {}));
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
