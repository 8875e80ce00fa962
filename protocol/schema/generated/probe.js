import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var ProbeEnvelope;
(function (ProbeEnvelope) {
    let _codec;
    ProbeEnvelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.error != null) {
                    obj.answer = undefined;
                    obj.request = undefined;
                }
                if (obj.answer != null) {
                    obj.error = undefined;
                    obj.request = undefined;
                }
                if (obj.request != null) {
                    obj.error = undefined;
                    obj.answer = undefined;
                }
                if (obj.request != null) {
                    w.uint32(10);
                    ProbeRequest.codec().encode(obj.request, w);
                }
                if (obj.answer != null) {
                    w.uint32(18);
                    ProbeAnswer.codec().encode(obj.answer, w);
                }
                if (obj.error != null) {
                    w.uint32(26);
                    ProbeError.codec().encode(obj.error, w);
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
                            obj.request = ProbeRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.request
                            });
                            break;
                        }
                        case 2: {
                            obj.answer = ProbeAnswer.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.answer
                            });
                            break;
                        }
                        case 3: {
                            obj.error = ProbeError.codec().decode(reader, reader.uint32(), {
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
                    delete obj.answer;
                    delete obj.request;
                }
                if (obj.answer != null) {
                    delete obj.error;
                    delete obj.request;
                }
                if (obj.request != null) {
                    delete obj.error;
                    delete obj.answer;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* ProbeRequest.codec().stream(reader, reader.uint32(), `${prefix}.request`, {
                                limits: opts.limits?.request
                            });
                            break;
                        }
                        case 2: {
                            yield* ProbeAnswer.codec().stream(reader, reader.uint32(), `${prefix}.answer`, {
                                limits: opts.limits?.answer
                            });
                            break;
                        }
                        case 3: {
                            yield* ProbeError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
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
        return encodeMessage(obj, ProbeEnvelope.codec());
    }
    ProbeEnvelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ProbeEnvelope.codec(), opts);
    }
    ProbeEnvelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ProbeEnvelope.codec(), opts);
    }
    ProbeEnvelope.stream = stream;
})(ProbeEnvelope || (ProbeEnvelope = {}));
export var ProbeAccess;
(function (ProbeAccess) {
    let _codec;
    ProbeAccess.codec = () => {
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
        return encodeMessage(obj, ProbeAccess.codec());
    }
    ProbeAccess.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ProbeAccess.codec(), opts);
    }
    ProbeAccess.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ProbeAccess.codec(), opts);
    }
    ProbeAccess.stream = stream;
})(ProbeAccess || (ProbeAccess = {}));
export var ProbeRequest;
(function (ProbeRequest) {
    let _codec;
    ProbeRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    ProbeAccess.codec().encode(obj.access, w);
                }
                if ((obj.target != null && obj.target !== '')) {
                    w.uint32(18);
                    w.string(obj.target);
                }
                if ((obj.maxHops != null && obj.maxHops !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.maxHops);
                }
                if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.nonce);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    target: '',
                    maxHops: 0,
                    nonce: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = ProbeAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            obj.target = readStrictString(reader);
                            break;
                        }
                        case 3: {
                            obj.maxHops = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.nonce = reader.bytes();
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
                            yield* ProbeAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
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
                                field: `${prefix}.maxHops`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.nonce`,
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
        return encodeMessage(obj, ProbeRequest.codec());
    }
    ProbeRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ProbeRequest.codec(), opts);
    }
    ProbeRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ProbeRequest.codec(), opts);
    }
    ProbeRequest.stream = stream;
})(ProbeRequest || (ProbeRequest = {}));
export var ProbeHop;
(function (ProbeHop) {
    let _codec;
    ProbeHop.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.ttl != null && obj.ttl !== 0)) {
                    w.uint32(8);
                    w.uint32(obj.ttl);
                }
                if ((obj.address != null && obj.address !== '')) {
                    w.uint32(18);
                    w.string(obj.address);
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
                    ttl: 0,
                    address: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.ttl = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.address = readStrictString(reader);
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
                                field: `${prefix}.ttl`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.address`,
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
        return encodeMessage(obj, ProbeHop.codec());
    }
    ProbeHop.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ProbeHop.codec(), opts);
    }
    ProbeHop.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ProbeHop.codec(), opts);
    }
    ProbeHop.stream = stream;
})(ProbeHop || (ProbeHop = {}));
export var ProbeAnswer;
(function (ProbeAnswer) {
    let _codec;
    ProbeAnswer.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if ((obj.target != null && obj.target !== '')) {
                    w.uint32(18);
                    w.string(obj.target);
                }
                if ((obj.at != null && obj.at !== 0n)) {
                    w.uint32(24);
                    writeUint64(w, obj.at);
                }
                if (obj.hops != null && obj.hops.length > 0) {
                    for (const value of obj.hops) {
                        w.uint32(34);
                        ProbeHop.codec().encode(value, w);
                    }
                }
                if ((obj.reached != null && obj.reached !== false)) {
                    w.uint32(40);
                    w.bool(obj.reached);
                }
                if (obj.rttUs != null) {
                    w.uint32(48);
                    w.uint32(obj.rttUs);
                }
                if ((obj.packets != null && obj.packets !== 0)) {
                    w.uint32(56);
                    w.uint32(obj.packets);
                }
                if ((obj.elapsedMs != null && obj.elapsedMs !== 0)) {
                    w.uint32(64);
                    w.uint32(obj.elapsedMs);
                }
                if ((obj.yard != null && obj.yard.byteLength > 0)) {
                    w.uint32(74);
                    w.bytes(obj.yard);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(82);
                    w.bytes(obj.signature);
                }
                if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
                    w.uint32(90);
                    w.bytes(obj.nonce);
                }
                if ((obj.seq != null && obj.seq !== 0n)) {
                    w.uint32(96);
                    writeUint64(w, obj.seq);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n,
                    target: '',
                    at: 0n,
                    hops: [],
                    reached: false,
                    packets: 0,
                    elapsedMs: 0,
                    yard: uint8ArrayAlloc(0),
                    signature: uint8ArrayAlloc(0),
                    nonce: uint8ArrayAlloc(0),
                    seq: 0n
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
                            obj.target = readStrictString(reader);
                            break;
                        }
                        case 3: {
                            obj.at = reader.uint64();
                            break;
                        }
                        case 4: {
                            if (opts.limits?.hops != null && obj.hops.length === opts.limits.hops) {
                                throw new MaxLengthError('Decode error - repeated field "hops" had too many elements');
                            }
                            obj.hops.push(ProbeHop.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.hops$
                            }));
                            break;
                        }
                        case 5: {
                            obj.reached = reader.bool();
                            break;
                        }
                        case 6: {
                            obj.rttUs = reader.uint32();
                            break;
                        }
                        case 7: {
                            obj.packets = reader.uint32();
                            break;
                        }
                        case 8: {
                            obj.elapsedMs = reader.uint32();
                            break;
                        }
                        case 9: {
                            obj.yard = reader.bytes();
                            break;
                        }
                        case 10: {
                            obj.signature = reader.bytes();
                            break;
                        }
                        case 11: {
                            obj.nonce = reader.bytes();
                            break;
                        }
                        case 12: {
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
                const obj = {
                    hops: 0
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
                                field: `${prefix}.target`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.at`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            if (opts.limits?.hops != null && obj.hops === opts.limits.hops) {
                                throw new MaxLengthError('Streaming decode error - repeated field "hops" had too many elements');
                            }
                            for (const evt of ProbeHop.codec().stream(reader, reader.uint32(), `${prefix}.hops[]`, {
                                limits: opts.limits?.hops$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.hops
                                };
                            }
                            obj.hops++;
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.reached`,
                                value: reader.bool()
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
                        case 7: {
                            yield {
                                field: `${prefix}.packets`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.elapsedMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.yard`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 10: {
                            yield {
                                field: `${prefix}.signature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.nonce`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 12: {
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
        return encodeMessage(obj, ProbeAnswer.codec());
    }
    ProbeAnswer.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ProbeAnswer.codec(), opts);
    }
    ProbeAnswer.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ProbeAnswer.codec(), opts);
    }
    ProbeAnswer.stream = stream;
})(ProbeAnswer || (ProbeAnswer = {}));
export var ProbeErrorCode;
(function (ProbeErrorCode) {
    ProbeErrorCode["PROBE_ERROR_UNSPECIFIED"] = "PROBE_ERROR_UNSPECIFIED";
    ProbeErrorCode["DENIED"] = "DENIED";
    ProbeErrorCode["UNKNOWN_LEASE"] = "UNKNOWN_LEASE";
    ProbeErrorCode["NOT_RUNNING"] = "NOT_RUNNING";
    ProbeErrorCode["NOT_A_CLIENT"] = "NOT_A_CLIENT";
    ProbeErrorCode["BAD_TARGET"] = "BAD_TARGET";
    ProbeErrorCode["RATE_LIMITED"] = "RATE_LIMITED";
    ProbeErrorCode["BUSY"] = "BUSY";
    ProbeErrorCode["BAD_FRAME"] = "BAD_FRAME";
    ProbeErrorCode["DISABLED"] = "DISABLED";
    ProbeErrorCode["FAILED"] = "FAILED";
    ProbeErrorCode["INTERNAL"] = "INTERNAL";
})(ProbeErrorCode || (ProbeErrorCode = {}));
var __ProbeErrorCodeValues;
(function (__ProbeErrorCodeValues) {
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["PROBE_ERROR_UNSPECIFIED"] = 0] = "PROBE_ERROR_UNSPECIFIED";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["DENIED"] = 1] = "DENIED";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["UNKNOWN_LEASE"] = 2] = "UNKNOWN_LEASE";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["NOT_RUNNING"] = 3] = "NOT_RUNNING";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["NOT_A_CLIENT"] = 4] = "NOT_A_CLIENT";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["BAD_TARGET"] = 5] = "BAD_TARGET";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["RATE_LIMITED"] = 6] = "RATE_LIMITED";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["BUSY"] = 7] = "BUSY";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["BAD_FRAME"] = 8] = "BAD_FRAME";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["DISABLED"] = 9] = "DISABLED";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["FAILED"] = 10] = "FAILED";
    __ProbeErrorCodeValues[__ProbeErrorCodeValues["INTERNAL"] = 11] = "INTERNAL";
})(__ProbeErrorCodeValues || (__ProbeErrorCodeValues = {}));
(function (ProbeErrorCode) {
    ProbeErrorCode.codec = () => {
        return enumeration(__ProbeErrorCodeValues);
    };
})(ProbeErrorCode || (ProbeErrorCode = {}));
export var ProbeError;
(function (ProbeError) {
    let _codec;
    ProbeError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __ProbeErrorCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    ProbeErrorCode.codec().encode(obj.code, w);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if ((obj.retryAfterMs != null && obj.retryAfterMs !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.retryAfterMs);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    code: ProbeErrorCode.PROBE_ERROR_UNSPECIFIED,
                    message: '',
                    retryAfterMs: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = ProbeErrorCode.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.message = readStrictString(reader);
                            break;
                        }
                        case 3: {
                            obj.retryAfterMs = reader.uint32();
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
                                value: ProbeErrorCode.codec().decode(reader)
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
                        case 3: {
                            yield {
                                field: `${prefix}.retryAfterMs`,
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
        return encodeMessage(obj, ProbeError.codec());
    }
    ProbeError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ProbeError.codec(), opts);
    }
    ProbeError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ProbeError.codec(), opts);
    }
    ProbeError.stream = stream;
})(ProbeError || (ProbeError = {}));
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
