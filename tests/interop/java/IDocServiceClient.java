// Calls examples/idoc_service through classes wsimport generated from its served WSDL (JAX-WS, wrapper
// style, -XadditionalHeaders for the MessageId header). Usage:
//   java IDocServiceClient WSDL OPERATION MESSAGE_ID ARGUMENT
// SendTextIDoc and SendIDocXML take the sender partner and the text line of a TXTRAW01 IDoc built here;
// SendFlatIDoc takes a flat IDoc file's path. Prints "transactionId tid state", or "FAULT code reason"
// (exit status 3) for a SOAP fault.

import idocserviceexample.idocservice.DeliveryReceipt;
import idocserviceexample.idocservice.IDocPort;
import idocserviceexample.idocservice.IDocReceipt;
import idocserviceexample.idocservice.IDocService;
import idocserviceexample.idocservice.idoc.SendIDocXML;
import idocserviceexample.idocservice.idoc.TXTRAW01;
import idocserviceexample.idocservice.idoc.TXTRAW01E1TXTRW;
import idocserviceexample.idocservice.idoc.TXTRAW01EDIDC40;
import idocserviceexample.idocservice.idoc.TXTRAW01IDOC;
import java.io.ByteArrayInputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.ws.Holder;
import javax.xml.ws.soap.SOAPFaultException;

public class IDocServiceClient {
    public static void main(String[] args) throws Exception {
        IDocPort port = new IDocService(new URL(args[0])).getIDocPortSoap11();
        String operation = args[1], messageId = args[2], argument = args[3];
        Holder<String> transactionId = new Holder<>(), tid = new Holder<>(), state = new Holder<>();
        Holder<Long> position = new Holder<>();
        Holder<List<IDocReceipt>> idocs = new Holder<>();
        try {
            switch (operation) {
                case "SendTextIDoc":
                    TXTRAW01 document = document(argument);
                    port.sendTextIDoc(document, transactionId, tid, state, position, idocs, messageId);
                    break;
                case "SendFlatIDoc":
                    String flat = Files.readString(Path.of(argument), StandardCharsets.UTF_8);
                    port.sendFlatIDoc(flat, transactionId, tid, state, position, idocs, messageId);
                    break;
                case "SendIDocXML":
                    SendIDocXML request = new SendIDocXML();
                    request.setAny(element(argument));
                    DeliveryReceipt receipt = port.sendIDocXML(request, messageId);
                    transactionId.value = receipt.getTransactionId();
                    tid.value = receipt.getTid();
                    state.value = receipt.getState();
                    break;
                default:
                    throw new IllegalArgumentException("no operation " + operation);
            }
        } catch (SOAPFaultException fault) {
            System.out.println("FAULT " + fault.getFault().getFaultCodeAsQName().getLocalPart() + " "
                    + fault.getFault().getFaultString());
            System.exit(3);
        }
        System.out.println(transactionId.value + " " + tid.value + " " + state.value);
    }

    /** A TXTRAW01 IDoc of one line from the sender partner {@code partnerAndLine} ("PARTNER:line"). */
    static TXTRAW01 document(String partnerAndLine) {
        String[] parts = partnerAndLine.split(":", 2);
        TXTRAW01EDIDC40 control = new TXTRAW01EDIDC40();
        control.setSEGMENT("1");
        control.setTABNAM("EDI_DC40");
        control.setDIRECT("2");
        control.setIDOCTYP("TXTRAW01");
        control.setMESTYP("TXTRAW");
        control.setSNDPOR("LEGACY");
        control.setSNDPRT("LS");
        control.setSNDPRN(parts[0]);
        control.setRCVPOR("SAPSIM");
        control.setRCVPRT("LS");
        control.setRCVPRN("SIM100");
        TXTRAW01E1TXTRW line = new TXTRAW01E1TXTRW();
        line.setSEGMENT("1");
        line.setTLINE(parts[1]);
        TXTRAW01IDOC idoc = new TXTRAW01IDOC();
        idoc.setBEGIN("1");
        idoc.setEDIDC40(control);
        idoc.getE1TXTRW().add(line);
        TXTRAW01 document = new TXTRAW01();
        document.getIDOC().add(idoc);
        return document;
    }

    /** The IDoc-XML document of the file {@code path} as a DOM element (the xs:any of SendIDocXML). */
    static org.w3c.dom.Element element(String path) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        byte[] bytes = Files.readAllBytes(Path.of(path));
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(bytes)).getDocumentElement();
    }
}
