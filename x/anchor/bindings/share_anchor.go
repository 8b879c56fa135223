// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"errors"
	"math/big"
	"strings"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
)

// ShareAnchorSig is an auto generated low-level Go binding around an user-defined struct.
type ShareAnchorSig struct {
	Index *big.Int
	V     uint8
	R     [32]byte
	S     [32]byte
}

// ShareAnchorMetaData contains all meta data concerning the ShareAnchor contract.
var ShareAnchorMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"string\",\"name\":\"chainId\",\"type\":\"string\"},{\"internalType\":\"address[]\",\"name\":\"initialSigners\",\"type\":\"address[]\"},{\"internalType\":\"uint64[]\",\"name\":\"initialPowers\",\"type\":\"uint64[]\"},{\"internalType\":\"uint64\",\"name\":\"initialTotal\",\"type\":\"uint64\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"}],\"name\":\"BadSignature\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"why\",\"type\":\"string\"}],\"name\":\"BadValset\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"signed\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"}],\"name\":\"NotEnoughPower\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"}],\"name\":\"SignersNotAscending\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"lastHeight\",\"type\":\"uint64\"}],\"name\":\"StaleCheckpoint\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"given\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"committed\",\"type\":\"bytes32\"}],\"name\":\"ValsetMismatch\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"modelsRoot\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"valset\",\"type\":\"bytes32\"}],\"name\":\"CheckpointSubmitted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"valset\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"totalPower\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"size\",\"type\":\"uint256\"}],\"name\":\"ValsetUpdated\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"chainIdHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"nextValset\",\"type\":\"bytes32\"}],\"name\":\"checkpointHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"currentValset\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"lastHeight\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"modelId\",\"type\":\"uint64\"},{\"internalType\":\"bytes\",\"name\":\"holder\",\"type\":\"bytes\"},{\"internalType\":\"uint256\",\"name\":\"balance\",\"type\":\"uint256\"}],\"name\":\"leaf\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"modelId\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"}],\"name\":\"modelLeaf\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"modelsRoot\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"a\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"b\",\"type\":\"bytes32\"}],\"name\":\"node\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"name\":\"powers\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"name\":\"signers\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"address[]\",\"name\":\"nextSigners\",\"type\":\"address[]\"},{\"internalType\":\"uint64[]\",\"name\":\"nextPowers\",\"type\":\"uint64[]\"},{\"internalType\":\"uint64\",\"name\":\"nextTotal\",\"type\":\"uint64\"},{\"components\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"},{\"internalType\":\"uint8\",\"name\":\"v\",\"type\":\"uint8\"},{\"internalType\":\"bytes32\",\"name\":\"r\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"s\",\"type\":\"bytes32\"}],\"internalType\":\"structShareAnchor.Sig[]\",\"name\":\"sigs\",\"type\":\"tuple[]\"}],\"name\":\"submitCheckpoint\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"totalPower\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address[]\",\"name\":\"s\",\"type\":\"address[]\"},{\"internalType\":\"uint64[]\",\"name\":\"p\",\"type\":\"uint64[]\"},{\"internalType\":\"uint64\",\"name\":\"total\",\"type\":\"uint64\"}],\"name\":\"valsetHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"modelId\",\"type\":\"uint64\"},{\"internalType\":\"bytes\",\"name\":\"holder\",\"type\":\"bytes\"},{\"internalType\":\"uint256\",\"name\":\"balance\",\"type\":\"uint256\"},{\"internalType\":\"bytes32[]\",\"name\":\"holderProof\",\"type\":\"bytes32[]\"},{\"internalType\":\"bytes32\",\"name\":\"modelRoot\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32[]\",\"name\":\"modelProof\",\"type\":\"bytes32[]\"}],\"name\":\"verifyShares\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	Bin: "0x60a060405234801561000f575f5ffd5b50604051611e2e380380611e2e83398101604081905261002e91610772565b8351602085012060805261004383838361004c565b5050505061094a565b8251158061005c57508151835114155b156100d557604051634a923a3960e01b815260206004820152603860248201527f7369676e65727320616e6420706f77657273206d757374206265206e6f6e2d6560448201527f6d70747920616e64206f6620657175616c206c656e677468000000000000000060648201526084015b60405180910390fd5b5f805b8451811015610297575f6001600160a01b03168582815181106100fd576100fd610868565b60200260200101516001600160a01b03160361014a57604051634a923a3960e01b815260206004820152600b60248201526a3d32b9379039b4b3b732b960a91b60448201526064016100cc565b5f811180156101a7575084610160600183610890565b8151811061017057610170610868565b60200260200101516001600160a01b031685828151811061019357610193610868565b60200260200101516001600160a01b031611155b1561020057604051634a923a3960e01b815260206004820152602260248201527f7369676e657273206d757374206265207374726963746c7920617363656e64696044820152616e6760f01b60648201526084016100cc565b83818151811061021257610212610868565b60200260200101516001600160401b03165f0361025f57604051634a923a3960e01b815260206004820152600a6024820152693d32b937903837bbb2b960b11b60448201526064016100cc565b83818151811061027157610271610868565b60200260200101516001600160401b03168261028d91906108a9565b91506001016100d8565b50816001600160401b031681111561030c57604051634a923a3960e01b815260206004820152603160248201527f746865207369676e6572732720706f776572732061646420757020746f206d6f6044820152701c99481d1a185b881d1a19481d1bdd185b607a1b60648201526084016100cc565b6103206001600160401b03831660026108bc565b61032b8260036108bc565b1161039f57604051634a923a3960e01b815260206004820152603460248201527f746865207369676e65727320686f6c64206e6f206d6f7265207468616e20322f60448201527f33206f662074686520746f74616c20706f77657200000000000000000000000060648201526084016100cc565b6103a95f806105bd565b6103b460015f6105db565b5f5b8451811015610477575f8582815181106103d2576103d2610868565b6020908102919091018101518254600180820185555f9485529290932090920180546001600160a01b0319166001600160a01b0390931692909217909155845185908390811061042457610424610868565b6020908102919091018101518254600181810185555f94855292909320600484040180546001600160401b0392831660086003909616959095026101000a948502929094021990931617909155016103b6565b506001600160401b0382166002556104908484846104e0565b60038190558451604080516001600160401b038616815260208101929092527fb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b910160405180910390a250505050565b8251604051600360f81b602082015260e09190911b6001600160e01b03191660218201525f90819060250160408051601f1981840301815291905290505f5b8551811015610589578186828151811061053b5761053b610868565b602002602001015186838151811061055557610555610868565b602002602001015160405160200161056f939291906108ea565b60408051601f19818403018152919052915060010161051f565b50808360405160200161059d929190610923565b604051602081830303815290604052805190602001209150509392505050565b5080545f8255905f5260205f20908101906105d891906105f9565b50565b5080545f825560030160049004905f5260205f20908101906105d891905b5b8082111561060d575f81556001016105fa565b5090565b634e487b7160e01b5f52604160045260245ffd5b604051601f8201601f191681016001600160401b038111828210171561064d5761064d610611565b604052919050565b5f6001600160401b0382111561066d5761066d610611565b5060051b60200190565b5f82601f830112610686575f5ffd5b815161069961069482610655565b610625565b8082825260208201915060208360051b8601019250858311156106ba575f5ffd5b602085015b838110156106eb5780516001600160a01b03811681146106dd575f5ffd5b8352602092830192016106bf565b5095945050505050565b80516001600160401b038116811461070b575f5ffd5b919050565b5f82601f83011261071f575f5ffd5b815161072d61069482610655565b8082825260208201915060208360051b86010192508583111561074e575f5ffd5b602085015b838110156106eb57610764816106f5565b835260209283019201610753565b5f5f5f5f60808587031215610785575f5ffd5b84516001600160401b0381111561079a575f5ffd5b8501601f810187136107aa575f5ffd5b80516001600160401b038111156107c3576107c3610611565b6107d6601f8201601f1916602001610625565b8181528860208385010111156107ea575f5ffd5b8160208401602083015e5f60208383010152809650505050602085015160018060401b03811115610819575f5ffd5b61082587828801610677565b604087015190945090506001600160401b03811115610842575f5ffd5b61084e87828801610710565b92505061085d606086016106f5565b905092959194509250565b634e487b7160e01b5f52603260045260245ffd5b634e487b7160e01b5f52601160045260245ffd5b818103818111156108a3576108a361087c565b92915050565b808201808211156108a3576108a361087c565b80820281158282048414176108a3576108a361087c565b5f81518060208401855e5f93019283525090919050565b5f6108f582866108d3565b60609490941b6001600160601b0319168452505060c01b6001600160c01b0319166014820152601c01919050565b5f61092e82856108d3565b60c09390931b6001600160c01b03191683525050600801919050565b6080516114c56109695f395f81816101d101526105f001526114c55ff3fe608060405234801561000f575f5ffd5b50600436106100e5575f3560e01c80636a0615fd11610088578063cb9d51c111610063578063cb9d51c1146101fc578063d5b2b25a1461020f578063db3ad22c14610222578063ebde6e1f1461022b575f5ffd5b80636a0615fd146101b95780639289acac146101cc578063c3f9b677146101f3575f5ffd5b80632fc05621116100c35780632fc05621146101675780633f6256721461017c57806340c1bfab14610193578063688509c8146101a6575f5ffd5b80631b936a81146100e95780632079fb9a1461011157806325159aa91461013c575b5f5ffd5b6100fc6100f7366004610f22565b61023e565b60405190151581526020015b60405180910390f35b61012461011f366004610fe2565b6102a0565b6040516001600160a01b039091168152602001610108565b60045461014f906001600160401b031681565b6040516001600160401b039091168152602001610108565b61017a610175366004610ff9565b6102c7565b005b61018560035481565b604051908152602001610108565b61014f6101a1366004610fe2565b6104ca565b6101856101b43660046111c6565b610504565b6101856101c73660046112a3565b6105e1565b6101857f000000000000000000000000000000000000000000000000000000000000000081565b61018560055481565b61018561020a3660046112d3565b610678565b61018561021d3660046112fb565b6106c5565b61018560025481565b61018561023936600461131b565b610730565b5f87158061024c575060ff88115b1561025857505f610293565b8361026f6102688c8c8c8c610730565b888861076d565b148015610290575060055461028e6102878c87610678565b858561076d565b145b90505b9998505050505050505050565b5f81815481106102ae575f80fd5b5f918252602090912001546001600160a01b0316905081565b6004546001600160401b03908116908a1611610314576004805460405163393b308560e21b81526001600160401b03808d1693820193909352911660248201526044015b60405180910390fd5b5f6103828888808060200260200160405190810160405280939291908181526020018383602002808284375f9201919091525050604080516020808c0282810182019093528b82529093508b92508a9182918501908490808284375f92019190915250899250610504915050565b90505f61039a6103938c8c856105e1565b85856107ad565b905060025460026103ab9190611384565b6103b6826003611384565b116103e25760025460405163140c238f60e11b815261030b918391600401918252602082015260400190565b6004805467ffffffffffffffff19166001600160401b038d1617905560058a90556003548214610479576104798989808060200260200160405190810160405280939291908181526020018383602002808284375f9201919091525050604080516020808d0282810182019093528c82529093508c92508b9182918501908490808284375f920191909152508a92506109a9915050565b604080518b8152602081018490526001600160401b038d16917ff5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28910160405180910390a25050505050505050505050565b600181815481106104d9575f80fd5b905f5260205f209060049182820401919006600802915054906101000a90046001600160401b031681565b8251604051600360f81b602082015260e09190911b6001600160e01b03191660218201525f90819060250160408051601f1981840301815291905290505f5b85518110156105ad578186828151811061055f5761055f61139b565b60200260200101518683815181106105795761057961139b565b6020026020010151604051602001610593939291906113c6565b60408051601f198184030181529190529150600101610543565b5080836040516020016105c1929190611404565b604051602081830303815290604052805190602001209150509392505050565b604051600160fa1b60208201527f000000000000000000000000000000000000000000000000000000000000000060218201524660418201526bffffffffffffffffffffffff193060601b1660618201526001600160c01b031960c085901b166075820152607d8101839052609d81018290525f9060bd016040516020818303038152906040528051906020012090509392505050565b604051600160f91b60208201526001600160c01b031960c084901b166021820152602981018290525f906049015b6040516020818303038152906040528051906020012090505b92915050565b5f81831061070657604051600160f81b6020820152602181018390526041810184905260610160405160208183030381529060405280519060200120610729565b604051600160f81b602082015260218101849052604181018390526061016106a6565b9392505050565b6040515f9061074d9082908790869088908290889060200161142b565b604051602081830303815290604052805190602001209050949350505050565b5f805b828110156107a45761079a8585858481811061078e5761078e61139b565b905060200201356106c5565b9450600101610770565b50929392505050565b5f805b828110156109a157368484838181106107cb576107cb61139b565b90506080020190505f82118015610808575084846107ea600185611472565b8181106107f9576107f961139b565b60800291909101358235111590505b156108295760405163590a84f760e01b81526004810183905260240161030b565b5f54813510158061085d57507f7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a06060820135115b1561087e5760405163a1c9731960e01b81526004810183905260240161030b565b5f6001876108926040850160208601611485565b604080515f8152602081018083529390935260ff90911682820152840135606080830191909152840135608082015260a0016020604051602081039080840390855afa1580156108e4573d5f5f3e3d5ffd5b5050604051601f1901519150506001600160a01b038116158061093157505f805483359081106109165761091661139b565b5f918252602090912001546001600160a01b03828116911614155b156109525760405163a1c9731960e01b81526004810184905260240161030b565b6001805483359081106109675761096761139b565b5f9182526020909120600482040154610995916003166008026101000a90046001600160401b0316856114a5565b935050506001016107b0565b509392505050565b825115806109b957508151835114155b15610a2d57604051634a923a3960e01b815260206004820152603860248201527f7369676e65727320616e6420706f77657273206d757374206265206e6f6e2d6560448201527f6d70747920616e64206f6620657175616c206c656e6774680000000000000000606482015260840161030b565b5f805b8451811015610bef575f6001600160a01b0316858281518110610a5557610a5561139b565b60200260200101516001600160a01b031603610aa257604051634a923a3960e01b815260206004820152600b60248201526a3d32b9379039b4b3b732b960a91b604482015260640161030b565b5f81118015610aff575084610ab8600183611472565b81518110610ac857610ac861139b565b60200260200101516001600160a01b0316858281518110610aeb57610aeb61139b565b60200260200101516001600160a01b031611155b15610b5857604051634a923a3960e01b815260206004820152602260248201527f7369676e657273206d757374206265207374726963746c7920617363656e64696044820152616e6760f01b606482015260840161030b565b838181518110610b6a57610b6a61139b565b60200260200101516001600160401b03165f03610bb757604051634a923a3960e01b815260206004820152600a6024820152693d32b937903837bbb2b960b11b604482015260640161030b565b838181518110610bc957610bc961139b565b60200260200101516001600160401b031682610be591906114a5565b9150600101610a30565b50816001600160401b0316811115610c6457604051634a923a3960e01b815260206004820152603160248201527f746865207369676e6572732720706f776572732061646420757020746f206d6f6044820152701c99481d1a185b881d1a19481d1bdd185b607a1b606482015260840161030b565b610c786001600160401b0383166002611384565b610c83826003611384565b11610cee57604051634a923a3960e01b815260206004820152603460248201527f746865207369676e65727320686f6c64206e6f206d6f7265207468616e20322f604482015273199037b3103a3432903a37ba30b6103837bbb2b960611b606482015260840161030b565b610cf85f80610e2f565b610d0360015f610e4d565b5f5b8451811015610dc6575f858281518110610d2157610d2161139b565b6020908102919091018101518254600180820185555f9485529290932090920180546001600160a01b0319166001600160a01b03909316929092179091558451859083908110610d7357610d7361139b565b6020908102919091018101518254600181810185555f94855292909320600484040180546001600160401b0392831660086003909616959095026101000a94850292909402199093161790915501610d05565b506001600160401b038216600255610ddf848484610504565b60038190558451604080516001600160401b038616815260208101929092527fb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b910160405180910390a250505050565b5080545f8255905f5260205f2090810190610e4a9190610e6b565b50565b5080545f825560030160049004905f5260205f2090810190610e4a91905b5b80821115610e7f575f8155600101610e6c565b5090565b80356001600160401b0381168114610e99575f5ffd5b919050565b5f5f83601f840112610eae575f5ffd5b5081356001600160401b03811115610ec4575f5ffd5b602083019150836020828501011115610edb575f5ffd5b9250929050565b5f5f83601f840112610ef2575f5ffd5b5081356001600160401b03811115610f08575f5ffd5b6020830191508360208260051b8501011115610edb575f5ffd5b5f5f5f5f5f5f5f5f5f60c08a8c031215610f3a575f5ffd5b610f438a610e83565b985060208a01356001600160401b03811115610f5d575f5ffd5b610f698c828d01610e9e565b90995097505060408a0135955060608a01356001600160401b03811115610f8e575f5ffd5b610f9a8c828d01610ee2565b90965094505060808a0135925060a08a01356001600160401b03811115610fbf575f5ffd5b610fcb8c828d01610ee2565b915080935050809150509295985092959850929598565b5f60208284031215610ff2575f5ffd5b5035919050565b5f5f5f5f5f5f5f5f5f60c08a8c031215611011575f5ffd5b61101a8a610e83565b985060208a0135975060408a01356001600160401b0381111561103b575f5ffd5b6110478c828d01610ee2565b90985096505060608a01356001600160401b03811115611065575f5ffd5b6110718c828d01610ee2565b9096509450611084905060808b01610e83565b925060a08a01356001600160401b0381111561109e575f5ffd5b8a01601f81018c136110ae575f5ffd5b80356001600160401b038111156110c3575f5ffd5b8c60208260071b84010111156110d7575f5ffd5b60208201935080925050509295985092959850929598565b634e487b7160e01b5f52604160045260245ffd5b604051601f8201601f191681016001600160401b038111828210171561112b5761112b6110ef565b604052919050565b5f6001600160401b0382111561114b5761114b6110ef565b5060051b60200190565b5f82601f830112611164575f5ffd5b813561117761117282611133565b611103565b8082825260208201915060208360051b860101925085831115611198575f5ffd5b602085015b838110156111bc576111ae81610e83565b83526020928301920161119d565b5095945050505050565b5f5f5f606084860312156111d8575f5ffd5b83356001600160401b038111156111ed575f5ffd5b8401601f810186136111fd575f5ffd5b803561120b61117282611133565b8082825260208201915060208360051b85010192508883111561122c575f5ffd5b6020840193505b828410156112625783356001600160a01b0381168114611251575f5ffd5b825260209384019390910190611233565b955050505060208401356001600160401b0381111561127f575f5ffd5b61128b86828701611155565b92505061129a60408501610e83565b90509250925092565b5f5f5f606084860312156112b5575f5ffd5b6112be84610e83565b95602085013595506040909401359392505050565b5f5f604083850312156112e4575f5ffd5b6112ed83610e83565b946020939093013593505050565b5f5f6040838503121561130c575f5ffd5b50508035926020909101359150565b5f5f5f5f6060858703121561132e575f5ffd5b61133785610e83565b935060208501356001600160401b03811115611351575f5ffd5b61135d87828801610e9e565b9598909750949560400135949350505050565b634e487b7160e01b5f52601160045260245ffd5b80820281158282048414176106bf576106bf611370565b634e487b7160e01b5f52603260045260245ffd5b5f81518060208401855e5f93019283525090919050565b5f6113d182866113af565b60609490941b6bffffffffffffffffffffffff19168452505060c01b6001600160c01b0319166014820152601c01919050565b5f61140f82856113af565b60c09390931b6001600160c01b03191683525050600801919050565b6001600160f81b0319878116825260c087901b6001600160c01b031916600183015260f886901b1660098201528284600a830137600a920191820152602a01949350505050565b818103818111156106bf576106bf611370565b5f60208284031215611495575f5ffd5b813560ff81168114610729575f5ffd5b808201808211156106bf576106bf61137056fea164736f6c634300081c000a",
}

// ShareAnchorABI is the input ABI used to generate the binding from.
// Deprecated: Use ShareAnchorMetaData.ABI instead.
var ShareAnchorABI = ShareAnchorMetaData.ABI

// ShareAnchorBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use ShareAnchorMetaData.Bin instead.
var ShareAnchorBin = ShareAnchorMetaData.Bin

// DeployShareAnchor deploys a new Ethereum contract, binding an instance of ShareAnchor to it.
func DeployShareAnchor(auth *bind.TransactOpts, backend bind.ContractBackend, chainId string, initialSigners []common.Address, initialPowers []uint64, initialTotal uint64) (common.Address, *types.Transaction, *ShareAnchor, error) {
	parsed, err := ShareAnchorMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(ShareAnchorBin), backend, chainId, initialSigners, initialPowers, initialTotal)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &ShareAnchor{ShareAnchorCaller: ShareAnchorCaller{contract: contract}, ShareAnchorTransactor: ShareAnchorTransactor{contract: contract}, ShareAnchorFilterer: ShareAnchorFilterer{contract: contract}}, nil
}

// ShareAnchor is an auto generated Go binding around an Ethereum contract.
type ShareAnchor struct {
	ShareAnchorCaller     // Read-only binding to the contract
	ShareAnchorTransactor // Write-only binding to the contract
	ShareAnchorFilterer   // Log filterer for contract events
}

// ShareAnchorCaller is an auto generated read-only Go binding around an Ethereum contract.
type ShareAnchorCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// ShareAnchorTransactor is an auto generated write-only Go binding around an Ethereum contract.
type ShareAnchorTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// ShareAnchorFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type ShareAnchorFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// ShareAnchorSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type ShareAnchorSession struct {
	Contract     *ShareAnchor      // Generic contract binding to set the session for
	CallOpts     bind.CallOpts     // Call options to use throughout this session
	TransactOpts bind.TransactOpts // Transaction auth options to use throughout this session
}

// ShareAnchorCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type ShareAnchorCallerSession struct {
	Contract *ShareAnchorCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts      // Call options to use throughout this session
}

// ShareAnchorTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type ShareAnchorTransactorSession struct {
	Contract     *ShareAnchorTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts      // Transaction auth options to use throughout this session
}

// ShareAnchorRaw is an auto generated low-level Go binding around an Ethereum contract.
type ShareAnchorRaw struct {
	Contract *ShareAnchor // Generic contract binding to access the raw methods on
}

// ShareAnchorCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type ShareAnchorCallerRaw struct {
	Contract *ShareAnchorCaller // Generic read-only contract binding to access the raw methods on
}

// ShareAnchorTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type ShareAnchorTransactorRaw struct {
	Contract *ShareAnchorTransactor // Generic write-only contract binding to access the raw methods on
}

// NewShareAnchor creates a new instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchor(address common.Address, backend bind.ContractBackend) (*ShareAnchor, error) {
	contract, err := bindShareAnchor(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &ShareAnchor{ShareAnchorCaller: ShareAnchorCaller{contract: contract}, ShareAnchorTransactor: ShareAnchorTransactor{contract: contract}, ShareAnchorFilterer: ShareAnchorFilterer{contract: contract}}, nil
}

// NewShareAnchorCaller creates a new read-only instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchorCaller(address common.Address, caller bind.ContractCaller) (*ShareAnchorCaller, error) {
	contract, err := bindShareAnchor(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorCaller{contract: contract}, nil
}

// NewShareAnchorTransactor creates a new write-only instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchorTransactor(address common.Address, transactor bind.ContractTransactor) (*ShareAnchorTransactor, error) {
	contract, err := bindShareAnchor(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorTransactor{contract: contract}, nil
}

// NewShareAnchorFilterer creates a new log filterer instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchorFilterer(address common.Address, filterer bind.ContractFilterer) (*ShareAnchorFilterer, error) {
	contract, err := bindShareAnchor(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorFilterer{contract: contract}, nil
}

// bindShareAnchor binds a generic wrapper to an already deployed contract.
func bindShareAnchor(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := ShareAnchorMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_ShareAnchor *ShareAnchorRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _ShareAnchor.Contract.ShareAnchorCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_ShareAnchor *ShareAnchorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _ShareAnchor.Contract.ShareAnchorTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_ShareAnchor *ShareAnchorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _ShareAnchor.Contract.ShareAnchorTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_ShareAnchor *ShareAnchorCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _ShareAnchor.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_ShareAnchor *ShareAnchorTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _ShareAnchor.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_ShareAnchor *ShareAnchorTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _ShareAnchor.Contract.contract.Transact(opts, method, params...)
}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ChainIdHash(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "chainIdHash")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ChainIdHash() ([32]byte, error) {
	return _ShareAnchor.Contract.ChainIdHash(&_ShareAnchor.CallOpts)
}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ChainIdHash() ([32]byte, error) {
	return _ShareAnchor.Contract.ChainIdHash(&_ShareAnchor.CallOpts)
}

// CheckpointHash is a free data retrieval call binding the contract method 0x6a0615fd.
//
// Solidity: function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) CheckpointHash(opts *bind.CallOpts, height uint64, root [32]byte, nextValset [32]byte) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "checkpointHash", height, root, nextValset)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// CheckpointHash is a free data retrieval call binding the contract method 0x6a0615fd.
//
// Solidity: function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) CheckpointHash(height uint64, root [32]byte, nextValset [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.CheckpointHash(&_ShareAnchor.CallOpts, height, root, nextValset)
}

// CheckpointHash is a free data retrieval call binding the contract method 0x6a0615fd.
//
// Solidity: function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) CheckpointHash(height uint64, root [32]byte, nextValset [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.CheckpointHash(&_ShareAnchor.CallOpts, height, root, nextValset)
}

// CurrentValset is a free data retrieval call binding the contract method 0x3f625672.
//
// Solidity: function currentValset() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) CurrentValset(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "currentValset")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// CurrentValset is a free data retrieval call binding the contract method 0x3f625672.
//
// Solidity: function currentValset() view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) CurrentValset() ([32]byte, error) {
	return _ShareAnchor.Contract.CurrentValset(&_ShareAnchor.CallOpts)
}

// CurrentValset is a free data retrieval call binding the contract method 0x3f625672.
//
// Solidity: function currentValset() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) CurrentValset() ([32]byte, error) {
	return _ShareAnchor.Contract.CurrentValset(&_ShareAnchor.CallOpts)
}

// LastHeight is a free data retrieval call binding the contract method 0x25159aa9.
//
// Solidity: function lastHeight() view returns(uint64)
func (_ShareAnchor *ShareAnchorCaller) LastHeight(opts *bind.CallOpts) (uint64, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "lastHeight")

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// LastHeight is a free data retrieval call binding the contract method 0x25159aa9.
//
// Solidity: function lastHeight() view returns(uint64)
func (_ShareAnchor *ShareAnchorSession) LastHeight() (uint64, error) {
	return _ShareAnchor.Contract.LastHeight(&_ShareAnchor.CallOpts)
}

// LastHeight is a free data retrieval call binding the contract method 0x25159aa9.
//
// Solidity: function lastHeight() view returns(uint64)
func (_ShareAnchor *ShareAnchorCallerSession) LastHeight() (uint64, error) {
	return _ShareAnchor.Contract.LastHeight(&_ShareAnchor.CallOpts)
}

// Leaf is a free data retrieval call binding the contract method 0xebde6e1f.
//
// Solidity: function leaf(uint64 modelId, bytes holder, uint256 balance) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) Leaf(opts *bind.CallOpts, modelId uint64, holder []byte, balance *big.Int) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "leaf", modelId, holder, balance)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// Leaf is a free data retrieval call binding the contract method 0xebde6e1f.
//
// Solidity: function leaf(uint64 modelId, bytes holder, uint256 balance) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) Leaf(modelId uint64, holder []byte, balance *big.Int) ([32]byte, error) {
	return _ShareAnchor.Contract.Leaf(&_ShareAnchor.CallOpts, modelId, holder, balance)
}

// Leaf is a free data retrieval call binding the contract method 0xebde6e1f.
//
// Solidity: function leaf(uint64 modelId, bytes holder, uint256 balance) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) Leaf(modelId uint64, holder []byte, balance *big.Int) ([32]byte, error) {
	return _ShareAnchor.Contract.Leaf(&_ShareAnchor.CallOpts, modelId, holder, balance)
}

// ModelLeaf is a free data retrieval call binding the contract method 0xcb9d51c1.
//
// Solidity: function modelLeaf(uint64 modelId, bytes32 root) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ModelLeaf(opts *bind.CallOpts, modelId uint64, root [32]byte) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "modelLeaf", modelId, root)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ModelLeaf is a free data retrieval call binding the contract method 0xcb9d51c1.
//
// Solidity: function modelLeaf(uint64 modelId, bytes32 root) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ModelLeaf(modelId uint64, root [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.ModelLeaf(&_ShareAnchor.CallOpts, modelId, root)
}

// ModelLeaf is a free data retrieval call binding the contract method 0xcb9d51c1.
//
// Solidity: function modelLeaf(uint64 modelId, bytes32 root) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ModelLeaf(modelId uint64, root [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.ModelLeaf(&_ShareAnchor.CallOpts, modelId, root)
}

// ModelsRoot is a free data retrieval call binding the contract method 0xc3f9b677.
//
// Solidity: function modelsRoot() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ModelsRoot(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "modelsRoot")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ModelsRoot is a free data retrieval call binding the contract method 0xc3f9b677.
//
// Solidity: function modelsRoot() view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ModelsRoot() ([32]byte, error) {
	return _ShareAnchor.Contract.ModelsRoot(&_ShareAnchor.CallOpts)
}

// ModelsRoot is a free data retrieval call binding the contract method 0xc3f9b677.
//
// Solidity: function modelsRoot() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ModelsRoot() ([32]byte, error) {
	return _ShareAnchor.Contract.ModelsRoot(&_ShareAnchor.CallOpts)
}

// Node is a free data retrieval call binding the contract method 0xd5b2b25a.
//
// Solidity: function node(bytes32 a, bytes32 b) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) Node(opts *bind.CallOpts, a [32]byte, b [32]byte) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "node", a, b)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// Node is a free data retrieval call binding the contract method 0xd5b2b25a.
//
// Solidity: function node(bytes32 a, bytes32 b) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) Node(a [32]byte, b [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.Node(&_ShareAnchor.CallOpts, a, b)
}

// Node is a free data retrieval call binding the contract method 0xd5b2b25a.
//
// Solidity: function node(bytes32 a, bytes32 b) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) Node(a [32]byte, b [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.Node(&_ShareAnchor.CallOpts, a, b)
}

// Powers is a free data retrieval call binding the contract method 0x40c1bfab.
//
// Solidity: function powers(uint256 ) view returns(uint64)
func (_ShareAnchor *ShareAnchorCaller) Powers(opts *bind.CallOpts, arg0 *big.Int) (uint64, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "powers", arg0)

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// Powers is a free data retrieval call binding the contract method 0x40c1bfab.
//
// Solidity: function powers(uint256 ) view returns(uint64)
func (_ShareAnchor *ShareAnchorSession) Powers(arg0 *big.Int) (uint64, error) {
	return _ShareAnchor.Contract.Powers(&_ShareAnchor.CallOpts, arg0)
}

// Powers is a free data retrieval call binding the contract method 0x40c1bfab.
//
// Solidity: function powers(uint256 ) view returns(uint64)
func (_ShareAnchor *ShareAnchorCallerSession) Powers(arg0 *big.Int) (uint64, error) {
	return _ShareAnchor.Contract.Powers(&_ShareAnchor.CallOpts, arg0)
}

// Signers is a free data retrieval call binding the contract method 0x2079fb9a.
//
// Solidity: function signers(uint256 ) view returns(address)
func (_ShareAnchor *ShareAnchorCaller) Signers(opts *bind.CallOpts, arg0 *big.Int) (common.Address, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "signers", arg0)

	if err != nil {
		return *new(common.Address), err
	}

	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)

	return out0, err

}

// Signers is a free data retrieval call binding the contract method 0x2079fb9a.
//
// Solidity: function signers(uint256 ) view returns(address)
func (_ShareAnchor *ShareAnchorSession) Signers(arg0 *big.Int) (common.Address, error) {
	return _ShareAnchor.Contract.Signers(&_ShareAnchor.CallOpts, arg0)
}

// Signers is a free data retrieval call binding the contract method 0x2079fb9a.
//
// Solidity: function signers(uint256 ) view returns(address)
func (_ShareAnchor *ShareAnchorCallerSession) Signers(arg0 *big.Int) (common.Address, error) {
	return _ShareAnchor.Contract.Signers(&_ShareAnchor.CallOpts, arg0)
}

// TotalPower is a free data retrieval call binding the contract method 0xdb3ad22c.
//
// Solidity: function totalPower() view returns(uint256)
func (_ShareAnchor *ShareAnchorCaller) TotalPower(opts *bind.CallOpts) (*big.Int, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "totalPower")

	if err != nil {
		return *new(*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new(*big.Int)).(**big.Int)

	return out0, err

}

// TotalPower is a free data retrieval call binding the contract method 0xdb3ad22c.
//
// Solidity: function totalPower() view returns(uint256)
func (_ShareAnchor *ShareAnchorSession) TotalPower() (*big.Int, error) {
	return _ShareAnchor.Contract.TotalPower(&_ShareAnchor.CallOpts)
}

// TotalPower is a free data retrieval call binding the contract method 0xdb3ad22c.
//
// Solidity: function totalPower() view returns(uint256)
func (_ShareAnchor *ShareAnchorCallerSession) TotalPower() (*big.Int, error) {
	return _ShareAnchor.Contract.TotalPower(&_ShareAnchor.CallOpts)
}

// ValsetHash is a free data retrieval call binding the contract method 0x688509c8.
//
// Solidity: function valsetHash(address[] s, uint64[] p, uint64 total) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ValsetHash(opts *bind.CallOpts, s []common.Address, p []uint64, total uint64) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "valsetHash", s, p, total)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ValsetHash is a free data retrieval call binding the contract method 0x688509c8.
//
// Solidity: function valsetHash(address[] s, uint64[] p, uint64 total) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ValsetHash(s []common.Address, p []uint64, total uint64) ([32]byte, error) {
	return _ShareAnchor.Contract.ValsetHash(&_ShareAnchor.CallOpts, s, p, total)
}

// ValsetHash is a free data retrieval call binding the contract method 0x688509c8.
//
// Solidity: function valsetHash(address[] s, uint64[] p, uint64 total) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ValsetHash(s []common.Address, p []uint64, total uint64) ([32]byte, error) {
	return _ShareAnchor.Contract.ValsetHash(&_ShareAnchor.CallOpts, s, p, total)
}

// VerifyShares is a free data retrieval call binding the contract method 0x1b936a81.
//
// Solidity: function verifyShares(uint64 modelId, bytes holder, uint256 balance, bytes32[] holderProof, bytes32 modelRoot, bytes32[] modelProof) view returns(bool)
func (_ShareAnchor *ShareAnchorCaller) VerifyShares(opts *bind.CallOpts, modelId uint64, holder []byte, balance *big.Int, holderProof [][32]byte, modelRoot [32]byte, modelProof [][32]byte) (bool, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "verifyShares", modelId, holder, balance, holderProof, modelRoot, modelProof)

	if err != nil {
		return *new(bool), err
	}

	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)

	return out0, err

}

// VerifyShares is a free data retrieval call binding the contract method 0x1b936a81.
//
// Solidity: function verifyShares(uint64 modelId, bytes holder, uint256 balance, bytes32[] holderProof, bytes32 modelRoot, bytes32[] modelProof) view returns(bool)
func (_ShareAnchor *ShareAnchorSession) VerifyShares(modelId uint64, holder []byte, balance *big.Int, holderProof [][32]byte, modelRoot [32]byte, modelProof [][32]byte) (bool, error) {
	return _ShareAnchor.Contract.VerifyShares(&_ShareAnchor.CallOpts, modelId, holder, balance, holderProof, modelRoot, modelProof)
}

// VerifyShares is a free data retrieval call binding the contract method 0x1b936a81.
//
// Solidity: function verifyShares(uint64 modelId, bytes holder, uint256 balance, bytes32[] holderProof, bytes32 modelRoot, bytes32[] modelProof) view returns(bool)
func (_ShareAnchor *ShareAnchorCallerSession) VerifyShares(modelId uint64, holder []byte, balance *big.Int, holderProof [][32]byte, modelRoot [32]byte, modelProof [][32]byte) (bool, error) {
	return _ShareAnchor.Contract.VerifyShares(&_ShareAnchor.CallOpts, modelId, holder, balance, holderProof, modelRoot, modelProof)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x2fc05621.
//
// Solidity: function submitCheckpoint(uint64 height, bytes32 root, address[] nextSigners, uint64[] nextPowers, uint64 nextTotal, (uint256,uint8,bytes32,bytes32)[] sigs) returns()
func (_ShareAnchor *ShareAnchorTransactor) SubmitCheckpoint(opts *bind.TransactOpts, height uint64, root [32]byte, nextSigners []common.Address, nextPowers []uint64, nextTotal uint64, sigs []ShareAnchorSig) (*types.Transaction, error) {
	return _ShareAnchor.contract.Transact(opts, "submitCheckpoint", height, root, nextSigners, nextPowers, nextTotal, sigs)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x2fc05621.
//
// Solidity: function submitCheckpoint(uint64 height, bytes32 root, address[] nextSigners, uint64[] nextPowers, uint64 nextTotal, (uint256,uint8,bytes32,bytes32)[] sigs) returns()
func (_ShareAnchor *ShareAnchorSession) SubmitCheckpoint(height uint64, root [32]byte, nextSigners []common.Address, nextPowers []uint64, nextTotal uint64, sigs []ShareAnchorSig) (*types.Transaction, error) {
	return _ShareAnchor.Contract.SubmitCheckpoint(&_ShareAnchor.TransactOpts, height, root, nextSigners, nextPowers, nextTotal, sigs)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x2fc05621.
//
// Solidity: function submitCheckpoint(uint64 height, bytes32 root, address[] nextSigners, uint64[] nextPowers, uint64 nextTotal, (uint256,uint8,bytes32,bytes32)[] sigs) returns()
func (_ShareAnchor *ShareAnchorTransactorSession) SubmitCheckpoint(height uint64, root [32]byte, nextSigners []common.Address, nextPowers []uint64, nextTotal uint64, sigs []ShareAnchorSig) (*types.Transaction, error) {
	return _ShareAnchor.Contract.SubmitCheckpoint(&_ShareAnchor.TransactOpts, height, root, nextSigners, nextPowers, nextTotal, sigs)
}

// ShareAnchorCheckpointSubmittedIterator is returned from FilterCheckpointSubmitted and is used to iterate over the raw logs and unpacked data for CheckpointSubmitted events raised by the ShareAnchor contract.
type ShareAnchorCheckpointSubmittedIterator struct {
	Event *ShareAnchorCheckpointSubmitted // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *ShareAnchorCheckpointSubmittedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(ShareAnchorCheckpointSubmitted)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(ShareAnchorCheckpointSubmitted)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *ShareAnchorCheckpointSubmittedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *ShareAnchorCheckpointSubmittedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// ShareAnchorCheckpointSubmitted represents a CheckpointSubmitted event raised by the ShareAnchor contract.
type ShareAnchorCheckpointSubmitted struct {
	Height     uint64
	ModelsRoot [32]byte
	Valset     [32]byte
	Raw        types.Log // Blockchain specific contextual infos
}

// FilterCheckpointSubmitted is a free log retrieval operation binding the contract event 0xf5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28.
//
// Solidity: event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset)
func (_ShareAnchor *ShareAnchorFilterer) FilterCheckpointSubmitted(opts *bind.FilterOpts, height []uint64) (*ShareAnchorCheckpointSubmittedIterator, error) {

	var heightRule []interface{}
	for _, heightItem := range height {
		heightRule = append(heightRule, heightItem)
	}

	logs, sub, err := _ShareAnchor.contract.FilterLogs(opts, "CheckpointSubmitted", heightRule)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorCheckpointSubmittedIterator{contract: _ShareAnchor.contract, event: "CheckpointSubmitted", logs: logs, sub: sub}, nil
}

// WatchCheckpointSubmitted is a free log subscription operation binding the contract event 0xf5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28.
//
// Solidity: event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset)
func (_ShareAnchor *ShareAnchorFilterer) WatchCheckpointSubmitted(opts *bind.WatchOpts, sink chan<- *ShareAnchorCheckpointSubmitted, height []uint64) (event.Subscription, error) {

	var heightRule []interface{}
	for _, heightItem := range height {
		heightRule = append(heightRule, heightItem)
	}

	logs, sub, err := _ShareAnchor.contract.WatchLogs(opts, "CheckpointSubmitted", heightRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(ShareAnchorCheckpointSubmitted)
				if err := _ShareAnchor.contract.UnpackLog(event, "CheckpointSubmitted", log); err != nil {
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseCheckpointSubmitted is a log parse operation binding the contract event 0xf5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28.
//
// Solidity: event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset)
func (_ShareAnchor *ShareAnchorFilterer) ParseCheckpointSubmitted(log types.Log) (*ShareAnchorCheckpointSubmitted, error) {
	event := new(ShareAnchorCheckpointSubmitted)
	if err := _ShareAnchor.contract.UnpackLog(event, "CheckpointSubmitted", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// ShareAnchorValsetUpdatedIterator is returned from FilterValsetUpdated and is used to iterate over the raw logs and unpacked data for ValsetUpdated events raised by the ShareAnchor contract.
type ShareAnchorValsetUpdatedIterator struct {
	Event *ShareAnchorValsetUpdated // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *ShareAnchorValsetUpdatedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(ShareAnchorValsetUpdated)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(ShareAnchorValsetUpdated)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *ShareAnchorValsetUpdatedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *ShareAnchorValsetUpdatedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// ShareAnchorValsetUpdated represents a ValsetUpdated event raised by the ShareAnchor contract.
type ShareAnchorValsetUpdated struct {
	Valset     [32]byte
	TotalPower *big.Int
	Size       *big.Int
	Raw        types.Log // Blockchain specific contextual infos
}

// FilterValsetUpdated is a free log retrieval operation binding the contract event 0xb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b.
//
// Solidity: event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size)
func (_ShareAnchor *ShareAnchorFilterer) FilterValsetUpdated(opts *bind.FilterOpts, valset [][32]byte) (*ShareAnchorValsetUpdatedIterator, error) {

	var valsetRule []interface{}
	for _, valsetItem := range valset {
		valsetRule = append(valsetRule, valsetItem)
	}

	logs, sub, err := _ShareAnchor.contract.FilterLogs(opts, "ValsetUpdated", valsetRule)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorValsetUpdatedIterator{contract: _ShareAnchor.contract, event: "ValsetUpdated", logs: logs, sub: sub}, nil
}

// WatchValsetUpdated is a free log subscription operation binding the contract event 0xb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b.
//
// Solidity: event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size)
func (_ShareAnchor *ShareAnchorFilterer) WatchValsetUpdated(opts *bind.WatchOpts, sink chan<- *ShareAnchorValsetUpdated, valset [][32]byte) (event.Subscription, error) {

	var valsetRule []interface{}
	for _, valsetItem := range valset {
		valsetRule = append(valsetRule, valsetItem)
	}

	logs, sub, err := _ShareAnchor.contract.WatchLogs(opts, "ValsetUpdated", valsetRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(ShareAnchorValsetUpdated)
				if err := _ShareAnchor.contract.UnpackLog(event, "ValsetUpdated", log); err != nil {
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseValsetUpdated is a log parse operation binding the contract event 0xb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b.
//
// Solidity: event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size)
func (_ShareAnchor *ShareAnchorFilterer) ParseValsetUpdated(log types.Log) (*ShareAnchorValsetUpdated, error) {
	event := new(ShareAnchorValsetUpdated)
	if err := _ShareAnchor.contract.UnpackLog(event, "ValsetUpdated", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
